"""The dispatch board (``/-/dispatch``): unassigned records by urgency then age, each person's
open load, reassign in one step, and the regions and skills the assignment rules match.

Thin over :mod:`kehu.records.dispatch` (``svc.dispatch``), which checks the ``assign``
permission, the approval lock and the row version before any change. A reassign posted by
htmx answers with its table row (and the load table out of band), so the row updates in
place; without JavaScript the form posts and the page reloads.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from htmx_flask import make_response as hx_response

from kehu.errors import Conflict, Forbidden, Locked, RecordInvalid
from kehu.web import i18n
from kehu.web.context import service, site
from kehu.web.i18n import gettext as _
from kehu.web.render import DisplayContext

bp = Blueprint("dispatch", __name__, url_prefix="/-/dispatch")


@bp.before_request
@login_required
def _signed_in():
    return None


@bp.app_context_processor
def _helpers():
    return {"dispatch_entities": _dispatch_entities}


def _dispatch_entities() -> list:
    """The entities the signed-in user may dispatch (the top bar links the board when any)."""
    if not current_user.is_authenticated:
        return []
    if "kehu_dispatch_entities" not in g:
        g.kehu_dispatch_entities = service().dispatch.entities()
    return g.kehu_dispatch_entities


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _columns(ent, assignment) -> list:
    """The board's columns: the list layout's, without the assignee (that is the form)."""
    svc = service()
    hidden = svc.policy.hidden_fields(ent)
    layout = site().metadata.layout(ent.name, "list")
    names = [ent.title_field] + [c for c in layout.columns if c != ent.title_field]
    return [ent.field(n) for n in dict.fromkeys(names)
            if n in ent.fields and n != assignment.field and n not in hidden and ent.field(n).type != "child_table"]


def _board_context(ent, unassigned: bool = True) -> dict:
    """What the board shows; without ``unassigned`` only the parts a reassigned row needs."""
    svc = service()
    assignment = site().metadata.assignment_for(ent.name)
    columns = _columns(ent, assignment)
    rows, labels = svc.dispatch.unassigned(ent.name, [c.name for c in columns]) if unassigned else ([], {})
    people = svc.dispatch.people(ent.name)
    ctx = DisplayContext(site(), i18n.lang(), labels, ent.name)
    return dict(entity=ent, assignment=assignment, columns=columns, cells=ctx.cells(columns, rows),
                people=people, states=_states(assignment), choices=[p for p in people if p["active"]],
                attribute_choices=svc.dispatch.attribute_choices(ent.name), ctx=ctx,
                may_edit={p["id"]: svc.dispatch.may_set_attributes(p["id"]) for p in people},
                entities=_dispatch_entities())


def _states(assignment) -> list[tuple[str, str]]:
    """(key, label) of the open states, in the picklist's order: the load table's columns."""
    if not assignment.open_field:
        return []
    entity = site().metadata.entity(assignment.entity)
    picklist = site().metadata.picklists[entity.field(assignment.open_field).picklist]
    lang = i18n.lang()
    return [(o.key, o.label.get(lang)) for o in picklist.options if o.key in assignment.open_values]


# ------------------------------------------------------------------ pages
@bp.route("/")
def board_home():
    entities = _dispatch_entities()
    if not entities:
        raise Forbidden(_("You may not dispatch any records."))
    return redirect(url_for("dispatch.board", entity=entities[0].name))


@bp.route("/<entity>/")
def board(entity):
    ent = site().metadata.entities.get(entity)
    if ent is None or site().metadata.assignment_for(ent.name) is None:
        abort(404)
    if ent.name not in {e.name for e in _dispatch_entities()}:
        raise Forbidden(_("You may not dispatch any records."))
    response = hx_response(render_template("dispatch/board.html", **_board_context(ent)))
    response.vary.add("HX-Request")
    return response


# ---------------------------------------------------------------- actions
@bp.route("/<entity>/<int:record_id>", methods=["POST"])
def assign(entity, record_id):
    """Give one record to the person chosen in its row."""
    svc = service()
    ent = svc.entity(entity)  # 404 for an unknown entity
    user_id = _int(request.form.get("user"))
    htmx = bool(request.headers.get("HX-Request"))
    error, status = None, 200
    try:
        record = svc.dispatch.assign(ent.name, record_id, user_id if user_id is not None else 0,
                                     request.form.get("row_version"))
    except (RecordInvalid, Conflict, Locked) as exc:
        error = "; ".join(m for ms in exc.errors.values() for m in ms) if isinstance(exc, RecordInvalid) else str(exc)
        status = 422 if isinstance(exc, RecordInvalid) else 409
        record = None
    if not htmx:
        if error:
            flash(error, "error")
        else:
            flash(_("Dispatched to %(name)s.", name=_name(user_id)), "ok")
        return redirect(url_for("dispatch.board", entity=ent.name), 303)
    context = _board_context(ent, unassigned=False)
    if record is None:  # the row as it stands now, with the message
        record = svc.get(ent.name, record_id)
    with site().reading() as conn:
        labels = svc.labels_for(ent, [record], [c.name for c in context["columns"]], conn)
    ctx = DisplayContext(site(), i18n.lang(), labels, ent.name)
    row, values = ctx.cells(context["columns"], [record])[0]
    html = render_template("dispatch/_assigned.html", **context, row=row, values=values,
                           error=error, assignee=None if error else _name(user_id))
    return hx_response(html, status)


def _name(user_id) -> str:
    user = site().user(user_id) if user_id else None
    return user["display_name"] if user else ""


@bp.route("/<entity>/people/<int:user_id>", methods=["POST"])
def set_attributes(entity, user_id):
    """Replace a person's regions or skills (one attribute) with the ticked options."""
    svc = service()
    ent = svc.entity(entity)
    attribute = request.form.get("attribute", "")
    try:
        svc.dispatch.set_attributes(ent.name, user_id, attribute, request.form.getlist("values"))
    except RecordInvalid as exc:
        flash("; ".join(m for ms in exc.errors.values() for m in ms), "error")
    else:
        flash(_("Saved."), "ok")
    return redirect(url_for("dispatch.board", entity=ent.name) + "#people", 303)
