"""Sign in and out, the language switch, and loading the signed-in user on each request."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import UserMixin, current_user, login_required, login_user, logout_user

from kehu.fields import limits
from kehu.web.i18n import LANGUAGES, gettext as _

bp = Blueprint("auth", __name__)

USERNAME_MAX = 80  # the length of kehu_user.username


def _stamp(row: dict) -> str:
    """Changes whenever the password or the user's session stamp does (renewed on every
    deactivation, reactivation and password reset, :mod:`kehu.org`), so such a change
    signs out every session from before it, and re-activating a user revives none."""
    return hashlib.sha256(f"{row['password_hash']}|{row.get('session_stamp') or ''}".encode()).hexdigest()[:16]


class User(UserMixin):
    def __init__(self, row: dict):
        self.row = row
        self.id = row["id"]

    def get_id(self) -> str:
        return f"{self.id}.{_stamp(self.row)}"

    @property
    def is_active(self) -> bool:
        return bool(self.row["is_active"])

    @property
    def display_name(self) -> str:
        return self.row["display_name"]

    @property
    def is_admin(self) -> bool:
        return bool(self.row["is_admin"])


def load_user(session_id: str):
    """Read the user on every request, so a deactivation, a role change or a new password
    takes effect at once, in every worker."""
    user_id, _, stamp = (session_id or "").partition(".")
    try:
        row = current_app.extensions["kehu"].user(int(user_id))
    except (TypeError, ValueError):
        return None
    if row is None or not row["is_active"] or not hmac.compare_digest(stamp, _stamp(row)):
        return None
    return User(row)


def unauthorized():
    if request.path.startswith("/api/"):
        return {"error": {"code": "unauthorized", "message": _("Please sign in to continue.")}}, 401
    if request.headers.get("HX-Request"):
        return "", 401, {"HX-Redirect": url_for("auth.login", next=request.full_path)}
    return redirect(url_for("auth.login", next=request.full_path))


MAX_NEXT = 2000


def safe_next(target: str | None) -> str:
    """Only local paths: never an absolute URL or a scheme-relative one. Control characters
    refuse the target before any other check: browsers drop a TAB or a line break from a
    URL, so '/<TAB>/evil.com' passed the checks below and then became '//evil.com'."""
    home = url_for("pages.home")
    if not target or not isinstance(target, str) or len(target) > MAX_NEXT or limits.control_character(target):
        return home
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    return target


@bp.route("/-/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        site = current_app.extensions["kehu"]
        username = request.form.get("username", "").strip()
        # a name no account can have is refused before the database sees it (PostgreSQL
        # cannot even compare text holding NUL)
        bad_name = limits.text_problem(username, None, max_length=USERNAME_MAX) is not None
        row = None if bad_name else site.authenticate(username, request.form.get("password", ""))
        if row is None:
            error = _("Wrong username or password, or the account is deactivated.")
        else:
            session.clear()
            login_user(User(row))
            if row.get("locale") in LANGUAGES and "lang" not in session:
                session["lang"] = row["locale"]
            return redirect(safe_next(request.args.get("next")))
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/-/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/-/lang", methods=["POST"])
def set_language():
    lang = request.form.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")))
