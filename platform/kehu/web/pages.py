"""The home page (the workbench) and the helpers every template can use."""

from __future__ import annotations

from flask import Blueprint, g, request
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from kehu.org import OrgService
from kehu.web import i18n, permits, workbench
from kehu.web.i18n import gettext as _
from kehu.web.context import site

bp = Blueprint("pages", __name__)

# Scripts and styles only from Kehu's own static files: no inline <script>, no on…= handlers,
# no style="…" attributes, no eval (htmx runs with allowEval off), so injected markup that
# slipped past escaping still cannot run. Images may be data: URLs (inline icons).
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
))



def register_template_helpers(app) -> None:
    app.jinja_env.tests["startswith"] = lambda value, prefix: str(value).startswith(prefix)
    permits.register(app)  # can(), can_rows(), nav(): menus and buttons follow the policy
    @app.context_processor
    def helpers():
        values = {
            "_": _,
            "lang": i18n.lang(),
            "label": lambda obj: obj.get(i18n.lang()) if obj is not None else "",
            "meta": site().metadata,
            "csrf": generate_csrf,
            "manages_team": _manages_team,
        }
        for extra in site().pm.hook.extra_template_vars(template=None, request=request):
            values.update(extra or {})
        return values

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.headers.get("HX-Request") is not None or request.endpoint and request.endpoint.startswith("records."):
            response.vary.add("HX-Request")
        return response


def _manages_team() -> bool:
    """Whether the signed-in user manages a department (the top bar then links "My team")."""
    if not current_user.is_authenticated:
        return False
    if "kehu_manages_team" not in g:  # the top bar and the workbench both ask
        g.kehu_manages_team = bool(OrgService(site(), site().actor(current_user.row)).managed_departments(current_user.id))
    return g.kehu_manages_team


@bp.route("/")
@login_required
def home():
    """The workbench (its parts and endpoints live in :mod:`kehu.web.workbench`)."""
    return workbench.page()
