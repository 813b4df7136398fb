"""Record pages under /app/<entity>/: list, detail, create, edit, delete, restore, and the
htmx endpoints a form uses (field validation, live formulas, cascading options, lookups).

Views are thin: they turn requests into record-service calls and render the result.
Helper endpoints live under ``/app/<entity>/-/`` so they can never clash with record ids.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import login_required
from htmx_flask import make_response as hx_response
from jinja2 import select_autoescape  # noqa: F401  (autoescape is on for .html)

from kehu.errors import Conflict, NotFound, RecordInvalid
from kehu.fields import limits
from kehu.records.query import Filter, ListQuery, parse
from kehu.records.service import ONCE_KEY
from kehu.web import i18n
from kehu.web.i18n import gettext as _
from kehu.web.render import DisplayContext
from kehu.web.context import service, site

bp = Blueprint("records", __name__, url_prefix="/app")

CONTROL_KEYS = {"csrf_token", "_action", "row_version", "form_token"}
_CHILD_KEY = re.compile(r"^([a-z][a-z0-9_]{1,39})-(\d{1,4})-([a-z][a-z0-9_]{1,39})$")


@bp.before_request
@login_required
def _signed_in():
    return None




def entity_or_404(name: str):
    entity = site().metadata.entities.get(name)
    if entity is None:
        abort(404)
    return entity


def record_entity_or_404(name: str):
    """The entity of a record page. Lines (``child_of``) have no pages of their own: they
    are shown and changed inside their parent's form, under its permissions and its
    approval lock, so their detail, edit, delete, restore and file links answer 404."""
    entity = entity_or_404(name)
    if entity.child_of:
        abort(404)
    return entity


def partial_or_page(partial: str, page_template, **context):
    """The htmx swap and the full page render the same partial."""
    htmx = request.headers.get("HX-Request") and not request.headers.get("HX-Boosted")
    return render_template(partial if htmx else page_template, **context)


def templates(kind: str, entity: str) -> list[str]:
    """Per-entity templates first, so a pack or site can override one entity's page."""
    return [f"records/{kind}-{entity}.html", f"records/{kind}.html"]


# ------------------------------------------------------------------- list
@bp.route("/<entity>/")
def list_view(entity):
    ent = entity_or_404(entity)
    if ent.child_of:
        abort(404)
    if request.args.get("deleted") == "1":  # the recycle bin is for who may restore from it
        service().policy.require(ent, "delete")
    return render_list(ent)


def render_list(ent, status: int = 200, **extra):
    """The list page (or its htmx partial) for the request's query; ``extra`` adds to the
    context (the bulk-assign form's outcome)."""
    from kehu.web.ownership import bulk_assign_context  # that module's views import this one

    meta = site().metadata
    layout = meta.layout(ent.name, "list")
    svc = service()
    hidden = svc.policy.hidden_fields(ent)
    query = parse(ent, layout, request.args, site().field_types, i18n.lang(), hidden)
    columns = [c for c in layout.columns if c in ent.fields and c not in hidden]
    page = svc.list(ent.name, query, columns + [ent.title_field])
    ctx = DisplayContext(site(), i18n.lang(), page.labels, ent.name)
    filter_fields = [ent.field(f) for f in (layout.filters or ()) if f in ent.fields and f not in hidden]
    filter_labels = _filter_labels(ent, query)
    context = dict(entity=ent, layout=layout, query=query, page=page, columns=[ent.field(c) for c in columns],
                   ctx=ctx, filter_fields=filter_fields, filter_labels=filter_labels, url_with=_url_with(ent, query),
                   bulk=bulk_assign_context(svc, ent, query, page), **extra)
    html = partial_or_page("records/_list.html", templates("list", ent.name), **context)
    response = hx_response(html, status)
    response.vary.add("HX-Request")
    return response


def _filter_labels(ent, query: ListQuery) -> dict:
    """Labels for the lookup values currently used as filters (to show in the filter bar)."""
    wanted = [f for f in query.filters if ent.field(f.field).type in ("lookup", "user")]
    if not wanted:
        return {}
    rows = [{f.field: v for f in wanted for v in f.values}]
    with site().reading() as conn:
        return service().labels_for(ent, rows, [f.field for f in wanted], conn)


def _url_with(ent, query: ListQuery):
    def build(**changes) -> str:
        params = [(k, v) for k, v in query.params() if k not in changes]
        for key, value in changes.items():
            if value not in (None, ""):
                params.append((key, value))
        if "page" not in changes and query.page > 1:
            params.append(("page", query.page))
        return url_for("records.list_view", entity=ent.name) + ("?" + urlencode(params) if params else "")
    return build


# ----------------------------------------------------------------- detail
@bp.route("/<entity>/<int:record_id>")
def detail(entity, record_id):
    return render_detail(record_entity_or_404(entity), record_id)


def render_detail(ent, record_id: int, status: int = 200, access_errors=None):
    """The detail page; ``access_errors`` are messages for its owner-and-sharing card."""
    from kehu.web.approvals import approval_context
    from kehu.web.ownership import access_context  # that module's views import this one
    from kehu.web.timeline import entries_of

    svc = service()
    record = svc.get(ent.name, record_id)
    meta = site().metadata
    layout = meta.layout(ent.name, "detail")
    with site().reading() as conn:
        labels = svc.labels_for(ent, [record], ent.fields, conn)
        for child in ent.child_tables():
            labels.update(svc.labels_for(meta.entity(child.target), record[child.name], meta.entity(child.target).fields, conn))
    related = []
    for rel in layout.related:
        rent = meta.entity(rel.entity)
        if svc.policy.level(rent.name, "read") == "none" or rel.field in svc.policy.hidden_fields(rent):
            continue  # a list the user could never fill is not shown
        query = ListQuery(filters=[Filter(rel.field, "eq", (record_id,), (str(record_id),))], per_page=rel.limit)
        rhidden = svc.policy.hidden_fields(rent)
        columns = [c for c in (rel.columns or meta.layout(rel.entity, "list").columns) if c in rent.fields and c not in rhidden]
        page = svc.list(rel.entity, query, columns + [rent.title_field])
        related.append((rel, rent, [rent.field(c) for c in columns], page,
                        DisplayContext(site(), i18n.lang(), page.labels, rent.name),
                        url_for("records.list_view", entity=rel.entity) + "?" + urlencode(query.params())))
    history, history_more = entries_of(svc, ent, record_id, labels)  # the 360° timeline, or the history
    ctx = DisplayContext(site(), i18n.lang(), labels, ent.name)
    actions = [a for group in site().pm.hook.record_actions(entity=ent, record=record, user=svc.actor, service=svc)
               for a in group or []]
    access = access_context(svc, ent, record, access_errors)
    approval = approval_context(svc, ent, record)
    return render_template(templates("detail", ent.name), entity=ent, record=record, layout=layout, actions=actions,
                           approval=approval, locked=svc.locked(record),
                           hidden=svc.policy.hidden_fields(ent), hidden_of=svc.policy.hidden_fields, visible=svc.visible,
                           ctx=ctx, related=related, history=history, history_more=history_more,
                           title=svc.title_of(ent, record),
                           access=access), status


@bp.route("/<entity>/<int:record_id>/file/<field>")
def attachment(entity, record_id, field):
    ent = record_entity_or_404(entity)
    record = service().get(ent.name, record_id)
    fld = ent.fields.get(field)
    if fld is None or fld.type != "attachment" or not record.get(field):
        abort(404)
    info = site().field_types["attachment"].decode(record[field])
    try:
        path = site().attachments.path(info)
    except FileNotFoundError:
        abort(404)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="application/octet-stream", as_attachment=True, download_name=info["name"])
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# ------------------------------------------------------------------ forms
def form_data(ent, layout) -> dict:
    """Submitted form fields as service input. Unknown keys are passed on so the service
    can refuse them by name (no silent mass assignment)."""
    form, files = request.form, request.files
    data: dict = {}
    children: dict[str, dict[int, dict]] = {}
    for key in form.keys():
        if key in CONTROL_KEYS or key.endswith("__remove") or key.endswith("__search"):
            continue
        match = _CHILD_KEY.match(key)
        if match and match.group(1) in ent.fields and ent.field(match.group(1)).type == "child_table":
            name, index, column = match.group(1), int(match.group(2)), match.group(3)
            line = children.setdefault(name, {}).setdefault(index, {})
            _line_value(form, site().metadata.entity(ent.field(name).target), line, key, column)
            continue
        if key.endswith("__present"):
            base = key[: -len("__present")]
            fld = ent.fields.get(base)
            if fld is not None and fld.type == "child_table":
                children.setdefault(base, {})
            elif fld is not None and fld.type == "boolean" and base not in form:
                data[base] = "false"
            elif fld is not None and fld.type == "multi_picklist" and base not in form:
                data[base] = []
            continue
        fld = ent.fields.get(key)
        if fld is not None and fld.type == "multi_picklist":
            data[key] = form.getlist(key)
        elif fld is not None and fld.type == "boolean":
            data[key] = form.getlist(key)[-1]
        else:
            data[key] = form.get(key)
    for name, rows in children.items():
        data[name] = [rows[i] for i in sorted(rows)]
    for key, upload in files.items():
        if upload and upload.filename:
            data[key] = upload
    for key in form.keys():
        if key.endswith("__remove") and key[: -len("__remove")] in ent.fields:
            data[key[: -len("__remove")]] = None
    return data


def _line_value(form, centity, line: dict, key: str, column: str) -> None:
    """One posted value of a grid line, read like the parent's own fields: a yes/no box or a
    multi-select sends a ``<column>__present`` marker, so "nothing ticked" can be told apart."""
    if column.endswith("__present"):
        base = column[: -len("__present")]
        fld = centity.fields.get(base)
        if fld is not None and key[: -len("__present")] not in form:
            if fld.type == "boolean":
                line[base] = "false"
            elif fld.type == "multi_picklist":
                line[base] = []
        return
    fld = centity.fields.get(column)
    if fld is not None and fld.type == "multi_picklist":
        line[column] = form.getlist(key)
    elif fld is not None and fld.type == "boolean":
        line[column] = form.getlist(key)[-1]
    else:
        line[column] = form.get(key)


def _form_context(ent, record: dict, errors=None, conflict=None, record_id=None):
    meta = site().metadata
    svc = service()
    with site().reading() as conn:
        labels = svc.labels_for(ent, [record], ent.fields, conn)
        for child in ent.child_tables():
            centity = meta.entity(child.target)
            labels.update(svc.labels_for(centity, record.get(child.name) or [], centity.fields, conn))
    layout = meta.layout(ent.name, "form")
    placed = set(layout.field_names()) - svc.policy.hidden_fields(ent)  # errors on unseen fields are listed on top
    stray = [
        (ent.field(key).label.get(i18n.lang()) if key in ent.fields else key, messages)
        for key, messages in (errors or {}).items()
        if key.split(".")[0] not in placed and key != "_record"
    ]
    return dict(entity=ent, record=record, layout=layout, errors=errors or {}, stray_errors=stray,
                conflict=conflict, record_id=record_id, ctx=DisplayContext(site(), i18n.lang(), labels, ent.name),
                svc=svc, title=svc.title_of(ent, record) if record_id else None,
                form_token=None if record_id else _form_token(),
                **(_prefill_context(ent, svc) if record_id is None else {}))


def _prefill_context(ent, svc) -> dict:
    """A new form opened with fields in its URL (a related list's "+ New"): the form posts
    back to the same URL, and Cancel returns to the record it was opened from."""
    given = svc.drafts.from_params(ent.name, request.args)
    cancel_url = None
    for name, value in given.items():
        fld = ent.field(name)
        if fld.type == "lookup" and not site().metadata.entity(fld.target).child_of:
            cancel_url = url_for("records.detail", entity=fld.target, record_id=value)
            break
    return {"form_args": {name: request.args.get(name) for name in given}, "cancel_url": cancel_url}


def _form_token() -> str:
    """A create form's one-time key (see RecordService.create): the one it was sent with when
    it comes back with errors (nothing was created under it), else a new one."""
    sent = request.form.get("form_token") if request.method == "POST" else None
    return sent if sent and ONCE_KEY.match(sent) else service().new_once_key()


def render_form(ent, record, status=200, **kwargs):
    context = _form_context(ent, record, **kwargs)
    html = partial_or_page("records/_form.html", templates("form", ent.name), **context)
    response = hx_response(html, status)
    response.vary.add("HX-Request")
    return response


def _after_save(ent, record):
    """Where a saved form goes, with "Saved" shown on the page it lands on: the record's own
    URL (its form again, or its page), or a new form."""
    action = request.form.get("_action", "save")
    flash(_("Saved."), "ok")
    if action == "save_new":
        target = url_for("records.new", entity=ent.name)
    elif action == "save_close":
        target = url_for("records.detail", entity=ent.name, record_id=record["id"])
    else:
        target = url_for("records.edit", entity=ent.name, record_id=record["id"])
    return go_to(target)


def go_to(target: str):
    """After a change: htmx follows HX-Redirect, a plain form post follows 303 See Other."""
    if request.headers.get("HX-Request"):
        return hx_response("", 204, redirect=target)
    return redirect(target, 303)


@bp.route("/<entity>/new", methods=["GET", "POST"])
def new(entity):
    ent = entity_or_404(entity)
    if ent.child_of:
        abort(404)
    svc = service()
    if request.method == "GET":
        svc.policy.require(ent, "create")  # the form is offered only to who may save it
        record, _given = svc.drafts.new(ent.name, request.args)  # "?customer=12" fills the customer
        return render_form(ent, record)
    data = form_data(ent, site().metadata.layout(ent.name, "form"))
    try:
        # a form sent twice (a double click, a retry) creates one record: both go to it
        record = svc.create(ent.name, data, once=request.form.get("form_token") or None)
    except RecordInvalid as exc:
        return render_form(ent, _redisplay(ent, data), 422, errors=exc.errors)
    return _after_save(ent, record)


@bp.route("/<entity>/<int:record_id>/edit", methods=["GET", "POST"])
def edit(entity, record_id):
    ent = record_entity_or_404(entity)
    svc = service()
    if request.method == "GET":
        record = svc.get(ent.name, record_id)
        svc.policy.require(ent, "write", record)  # the form is offered only to who may save it
        svc.refuse_if_locked(ent, record)
        return render_form(ent, record, record_id=record_id)
    data = form_data(ent, site().metadata.layout(ent.name, "form"))
    try:
        record = svc.update(ent.name, record_id, data, _int(request.form.get("row_version")))
    except RecordInvalid as exc:
        return render_form(ent, _redisplay(ent, data, record_id), 422, errors=exc.errors, record_id=record_id)
    except Conflict as exc:
        return render_form(ent, _redisplay(ent, data, record_id), 409, conflict=exc, record_id=record_id)
    return _after_save(ent, record)


def _redisplay(ent, data: dict, record_id=None) -> dict:
    """Values to show again after a refused save: computed where possible, and exactly what
    was typed for fields whose input could not be read, so nothing typed is lost."""
    fields = {k: v for k, v in data.items() if k in ent.fields}
    svc = service()
    values, errors = svc.check(ent.name, fields, record_id)
    for key in errors:
        # only into inputs: a computed, read-only or refused field shows its value, never
        # text posted for it (which it could not display)
        if isinstance(fields.get(key), str) and _typed_into(svc, ent, ent.field(key)):
            values[key] = fields[key]
    for child in ent.child_tables():  # every typed line comes back, bad cells as typed
        typed, lines = fields.get(child.name), values.get(child.name)
        if not isinstance(typed, list) or not isinstance(lines, list) or len(typed) != len(lines):
            continue
        for key in errors:
            parts = key.split(".")
            if len(parts) == 3 and parts[0] == child.name and parts[1].isdigit() and int(parts[1]) < len(lines):
                raw = typed[int(parts[1])].get(parts[2])
                if isinstance(raw, str):
                    lines[int(parts[1])][parts[2]] = raw
    values["row_version"] = _int(request.form.get("row_version"))
    return values


def _typed_into(svc, ent, fld) -> bool:
    return not site().field_types[fld.type].computed and not fld.get("read_only") and svc.policy.can_edit_field(ent, fld.name)


def _int(value):
    """A row version or record id from the request: None unless it fits its INTEGER column."""
    try:
        number = int(str(value).strip()) if value is not None and len(str(value)) <= 12 else None
    except ValueError:
        return None
    return number if number is not None and limits.INT32_MIN <= number <= limits.INT32_MAX else None


@bp.route("/<entity>/<int:record_id>/delete", methods=["POST"])
def delete(entity, record_id):
    ent = record_entity_or_404(entity)
    svc = service()
    title = svc.title_of(ent, svc.get(ent.name, record_id))  # read before: its name for the message
    svc.delete(ent.name, record_id, row_version=_int(request.form.get("row_version")))
    flash(_("Deleted “%(title)s” — you can restore it from the recycle bin.", title=title), "ok")
    return go_to(url_for("records.list_view", entity=ent.name))


@bp.route("/<entity>/<int:record_id>/restore", methods=["POST"])
def restore(entity, record_id):
    ent = record_entity_or_404(entity)
    service().restore(ent.name, record_id)
    flash(_("Restored."), "ok")
    return go_to(url_for("records.detail", entity=ent.name, record_id=record_id))


# ---------------------------------------------------------- htmx helpers
@bp.route("/<entity>/-/validate/<field>", methods=["POST"])
def validate_field(entity, field):
    """Errors of one field, computed over the whole form as it stands (rules included)."""
    ent = entity_or_404(entity)
    if field not in ent.fields:
        abort(404)
    data = form_data(ent, site().metadata.layout(ent.name, "form"))
    record_id = _int(request.args.get("id"))
    _values, errors = service().check(ent.name, {k: v for k, v in data.items() if k in ent.fields}, record_id)
    return render_template("records/_errors.html", name=field, messages=errors.get(field, []))


@bp.route("/<entity>/-/compute", methods=["POST"])
def compute(entity):
    """Formula values (line amounts, totals) of the form as it stands, swapped out of band."""
    ent = entity_or_404(entity)
    data = form_data(ent, site().metadata.layout(ent.name, "form"))
    values, _errors = service().check(ent.name, {k: v for k, v in data.items() if k in ent.fields}, _int(request.args.get("id")))
    ctx = DisplayContext(site(), i18n.lang(), {}, ent.name)
    return render_template("records/_computed.html", entity=ent, values=values, ctx=ctx, svc=service())


@bp.route("/<entity>/-/options/<field>")
def options(entity, field):
    """Options of a cascading picklist for the chosen parent value."""
    ent = entity_or_404(entity)
    fld = ent.fields.get(field)
    if fld is None or fld.type != "picklist" or not fld.get("depends_on"):
        abort(404)
    parent_value = request.args.get(fld.get("depends_on")) or None
    picklist = site().metadata.picklists[fld.picklist]
    opts = picklist.active(parent_value) if parent_value else []
    return render_template("records/_options.html", options=opts, selected=request.args.get(field))


@bp.route("/<entity>/-/lookup/<field>")
def lookup(entity, field):
    """Type-ahead for a lookup or user field: only records the user can read."""
    ent = entity_or_404(entity)
    fld = ent.fields.get(field)
    if fld is None and "." in field:
        child, _, column = field.partition(".")
        cfld = ent.fields.get(child)
        if cfld is not None and cfld.type == "child_table":
            fld = site().metadata.entity(cfld.target).fields.get(column)
    if fld is None or fld.type not in ("lookup", "user"):
        abort(404)
    target = request.args.get("target", "")
    term = request.args.get(f"{target}__search", request.args.get("q", ""))
    problem = limits.text_problem(term, i18n.lang(), max_length=200)
    if problem:
        abort(400, problem)
    if fld.type == "user":
        results = site().user_choices(term)
    else:
        results = service().search_lookup(fld.target, term)
    return render_template("records/_lookup_results.html", results=results, target=request.args.get("target", ""))


@bp.route("/<entity>/-/fill/<field>")
def fill(entity, field):
    """What picking record ``id`` in a lookup fills in the form (its ``fill`` in metadata), as
    JSON ``{field: {"value": ..., "label": ...}}``: read through the record service, so only
    what the user may see and set. ``field`` may name a child-grid column (``lines.product``)."""
    ent = entity_or_404(entity)
    svc = service()
    values = svc.drafts.fill(ent.name, field, request.args.get("id"))
    target = ent
    child = ent.fields.get(field.partition(".")[0]) if "." in field else None
    if child is not None and child.type == "child_table":
        target = site().metadata.entity(child.target)
    with site().reading() as conn:
        labels = svc.labels_for(target, [values], list(values), conn)
    out = {}
    for name, value in values.items():
        fld = target.field(name)
        out[name] = {"value": _form_value(value)}
        if fld.type in ("lookup", "user"):
            out[name]["label"] = labels.get(("kehu_user" if fld.type == "user" else fld.target, value), "")
    response = jsonify(out)
    response.headers["Cache-Control"] = "no-store"
    return response


def _form_value(value) -> str:
    """A stored value as a form input holds it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return "" if value is None else str(value)
