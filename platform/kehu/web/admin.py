"""System pages under ``/-/admin/``: users, departments, teams, moving a leaver's records,
and the audit log.

Administrators only: every request from anyone else is refused (403) before a view runs.
Every page is thin over :class:`kehu.org.OrgService` (which checks the actor again and
writes the audit entry in the same transaction) and the record service's ownership actions;
no view reads a table. Form values must be among the options the form offered.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from kehu.errors import Forbidden, NotFound, RecordInvalid
from kehu.org import OrgService
from kehu.web import i18n
from kehu.web.i18n import LANGUAGES, gettext as _
from kehu.web.context import site

bp = Blueprint("admin", __name__, url_prefix="/-/admin")


@bp.before_request
@login_required
def _admins_only():
    if not current_user.is_admin:
        raise Forbidden(_("Only administrators can open the system pages."))



def actor():
    return site().actor(current_user.row)


def org() -> OrgService:
    return OrgService(site(), actor(), i18n.lang())


def records():
    return site().records(actor(), i18n.lang())


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _pick(raw, allowed, name: str, errors: dict):
    """One id chosen from a select: None when left empty, an error when not offered."""
    if raw in (None, ""):
        return None
    value = _int(raw)
    if value not in allowed:
        errors.setdefault(name, []).append(_("Choose from the list."))
        return None
    return value


def _picks(raws, allowed, name: str, errors: dict) -> list[int]:
    """Ids ticked in a group of checkboxes, each of which must have been offered."""
    values = [_int(v) for v in raws]
    if any(v not in allowed for v in values):
        errors.setdefault(name, []).append(_("Choose from the list."))
    return [v for v in dict.fromkeys(values) if v in allowed]


def _checked(name: str) -> bool:
    return request.form.get(name) == "1"


@bp.route("/")
def index():
    return redirect(url_for("admin.users"))


# ------------------------------------------------------------------- users
@bp.route("/users")
def users():
    o = org()
    return render_template("admin/users.html", users=o.users(), departments=o.departments(),
                           roles=site().metadata.roles, section="users")


def _user_values(o: OrgService, new: bool) -> tuple[dict, dict]:
    form = request.form
    errors: dict[str, list[str]] = {}
    locale = form.get("locale")
    if locale not in LANGUAGES:
        errors["locale"] = [_("Choose from the list.")]
        locale = "zh"
    values = {
        "display_name": form.get("display_name", ""),
        "email": form.get("email", "").strip() or None,
        "locale": locale,
        "department_id": _pick(form.get("department_id"), o.departments(), "department_id", errors),
        "roles": form.getlist("roles"),  # OrgService names unknown roles
        "teams": _picks(form.getlist("teams"), {t["id"] for t in o.teams()}, "teams", errors),
        "is_admin": _checked("is_admin"),
    }
    if new:
        values["username"] = form.get("username", "").strip()
    else:
        values["is_active"] = _checked("is_active")
    return values, errors


def _user_form(o: OrgService, values: dict, errors=None, status=200, user_id=None, password_errors=None):
    return render_template("admin/user_form.html", values=values, errors=errors or {}, user_id=user_id,
                           password_errors=password_errors or {},
                           tree=o.tree(), teams=o.teams(), roles=site().metadata.roles, languages=LANGUAGES,
                           section="users"), status


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    o = org()
    if request.method == "GET":
        return _user_form(o, {"locale": i18n.lang(), "roles": [], "teams": []})
    values, errors = _user_values(o, new=True)
    if not errors:
        try:
            o.create_user(values["username"], request.form.get("password", ""), values["display_name"],
                          department_id=values["department_id"], roles=values["roles"], teams=values["teams"],
                          is_admin=values["is_admin"], email=values["email"], locale=values["locale"])
        except RecordInvalid as exc:
            errors = exc.errors
    if errors:
        return _user_form(o, values, errors, 422)
    flash(_("User %(name)s created.", name=values["display_name"].strip()), "ok")
    return redirect(url_for("admin.users"), 303)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id):
    o = org()
    user = o.user(user_id)  # 404 for an unknown id
    if request.method == "GET":
        return _user_form(o, user, user_id=user_id)
    values, errors = _user_values(o, new=False)
    if not errors:
        try:
            o.update_user(user_id, **values)
        except RecordInvalid as exc:
            errors = exc.errors
    if errors:
        return _user_form(o, {**values, "username": user["username"]}, errors, 422, user_id)
    flash(_("Saved."), "ok")
    return redirect(url_for("admin.users"), 303)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id):
    o = org()
    user = o.user(user_id)
    try:
        o.reset_password(user_id, request.form.get("password", ""))
    except RecordInvalid as exc:
        return _user_form(o, user, status=422, user_id=user_id, password_errors=exc.errors)
    flash(_("The password of %(name)s was changed; their other sessions are signed out.", name=user["display_name"]), "ok")
    return redirect(url_for("admin.edit_user", user_id=user_id), 303)


# ------------------------------------------------------------- departments
@bp.route("/departments")
def departments():
    o = org()
    names = {u["id"]: u["display_name"] for u in o.users()}
    return render_template("admin/departments.html", tree=o.tree(), names=names, section="departments")


def _department_values(o: OrgService) -> tuple[dict, dict]:
    form = request.form
    errors: dict[str, list[str]] = {}
    values = {
        "name": form.get("name", ""),
        "name_en": form.get("name_en", "").strip() or None,
        "parent_id": _pick(form.get("parent_id"), o.departments(), "parent_id", errors),
        "manager_id": _pick(form.get("manager_id"), {u["id"] for u in o.users()}, "manager_id", errors),
        "code": form.get("code", "").strip() or None,
    }
    return values, errors


def _department_form(o: OrgService, values: dict, errors=None, status=200, dept_id=None):
    below = o.subtree(dept_id) if dept_id else set()
    parents = [(depth, d) for depth, d in o.tree() if d.id not in below]  # a cycle is never offered
    people = [u for u in o.users() if u["is_active"] or u["id"] == values.get("manager_id")]
    return render_template("admin/department_form.html", values=values, errors=errors or {}, dept_id=dept_id,
                           parents=parents, people=people, section="departments"), status


@bp.route("/departments/new", methods=["GET", "POST"])
def new_department():
    o = org()
    if request.method == "GET":
        return _department_form(o, {"parent_id": _int(request.args.get("parent"))})
    values, errors = _department_values(o)
    if not errors:
        try:
            o.create_department(values["name"], name_en=values["name_en"], parent_id=values["parent_id"],
                                manager_id=values["manager_id"], code=values["code"])
        except RecordInvalid as exc:
            errors = exc.errors
    if errors:
        return _department_form(o, values, errors, 422)
    flash(_("Department %(name)s created.", name=values["name"].strip()), "ok")
    return redirect(url_for("admin.departments"), 303)


@bp.route("/departments/<int:dept_id>", methods=["GET", "POST"])
def edit_department(dept_id):
    o = org()
    dept = o.departments().get(dept_id)
    if dept is None:
        raise NotFound(_("No such department."))
    if request.method == "GET":
        return _department_form(o, dict(name=dept.name, name_en=dept.name_en, parent_id=dept.parent_id,
                                        manager_id=dept.manager_id, code=dept.code), dept_id=dept_id)
    values, errors = _department_values(o)
    if not errors:
        try:
            o.update_department(dept_id, **values)
        except RecordInvalid as exc:
            errors = exc.errors
    if errors:
        return _department_form(o, values, errors, 422, dept_id)
    flash(_("Saved."), "ok")
    return redirect(url_for("admin.departments"), 303)


# ------------------------------------------------------------------- teams
@bp.route("/teams")
def teams():
    o = org()
    names = {u["id"]: u["display_name"] for u in o.users()}
    return render_template("admin/teams.html", teams=o.teams(), names=names, section="teams")


def _team_form(o: OrgService, values: dict, errors=None, status=200, team_id=None):
    people = [u for u in o.users() if u["is_active"] or u["id"] in values.get("members", ())]
    return render_template("admin/team_form.html", values=values, errors=errors or {}, team_id=team_id,
                           people=people, section="teams"), status


def _team_or_404(o: OrgService, team_id: int) -> dict:
    team = next((t for t in o.teams() if t["id"] == team_id), None)
    if team is None:
        raise NotFound(_("No such team."))
    return team


@bp.route("/teams/new", methods=["GET", "POST"])
def new_team():
    o = org()
    if request.method == "GET":
        return _team_form(o, {"members": []})
    errors: dict[str, list[str]] = {}
    values = {"name": request.form.get("name", ""),
              "members": _picks(request.form.getlist("members"), {u["id"] for u in o.users()}, "members", errors)}
    if not errors:
        try:
            o.create_team(values["name"], values["members"])
        except RecordInvalid as exc:
            errors = exc.errors
    if errors:
        return _team_form(o, values, errors, 422)
    flash(_("Team %(name)s created.", name=values["name"].strip()), "ok")
    return redirect(url_for("admin.teams"), 303)


@bp.route("/teams/<int:team_id>", methods=["GET", "POST"])
def edit_team(team_id):
    o = org()
    team = _team_or_404(o, team_id)
    if request.method == "GET":
        return _team_form(o, team, team_id=team_id)
    errors: dict[str, list[str]] = {}
    members = _picks(request.form.getlist("members"), {u["id"] for u in o.users()}, "members", errors)
    if errors:
        return _team_form(o, {**team, "members": members}, errors, 422, team_id)
    o.set_team_members(team_id, members)
    flash(_("Saved."), "ok")
    return redirect(url_for("admin.teams"), 303)


# ---------------------------------------------------------------- transfer
@bp.route("/transfer", methods=["GET", "POST"])
def transfer():
    """Someone leaves: GET with both users previews what would move, POST moves it."""
    o = org()
    people = o.users()
    everyone = {u["id"]: u for u in people}
    active = {u["id"] for u in people if u["is_active"]}
    errors: dict[str, list[str]] = {}
    from_user = _pick(request.values.get("from_user"), everyone, "from_user", errors)
    to_user = _pick(request.values.get("to_user"), active, "to_user", errors)
    asked = request.method == "POST" or ("from_user" in request.args and "to_user" in request.args)
    if asked:
        if from_user is None and "from_user" not in errors:
            errors["from_user"] = [_("Choose the user who leaves.")]
        if to_user is None and "to_user" not in errors:
            errors["to_user"] = [_("Choose who takes over.")]
        if from_user is not None and from_user == to_user:
            errors["to_user"] = [_("Choose a different user.")]
    preview = moved = None
    held = []
    status = 422 if errors else 200
    if asked and not errors:
        ownership = records().ownership
        if request.method == "POST":
            try:
                moved = ownership.transfer(from_user, to_user)
            except RecordInvalid as exc:
                errors, status = exc.errors, 422
        else:
            preview = ownership.transfer_preview(from_user, to_user)
        if not errors:
            held = ownership.transfer_held(from_user)  # waiting for approval: they stay
    entities = site().metadata.entities
    return render_template("admin/transfer.html", people=people, everyone=everyone, from_user=from_user,
                           to_user=to_user, errors=errors, preview=preview, moved=moved, entities=entities,
                           held=held, section="transfer"), status


# ------------------------------------------------------------------- audit
AUDIT_PAGE = 50


@bp.route("/audit")
def audit():
    """The audit log, newest first, a page at a time, each entry worded as a sentence."""
    from kehu.web.audit import AuditWords

    o = org()
    total = o.audit_count()
    pages = max(1, -(-total // AUDIT_PAGE))
    page = min(max(_int(request.args.get("page")) or 1, 1), pages)
    entries = o.audit_log(AUDIT_PAGE, (page - 1) * AUDIT_PAGE)
    lines = AuditWords(site(), o, records(), i18n.lang()).lines(entries)
    return render_template("admin/audit.html", lines=lines, page=page, pages=pages, total=total,
                           entities=site().metadata.entities, section="audit")
