"""The sales chain's own pages: converting a lead (``/app/lead/<id>/convert``).

Thin over :class:`kehu.records.conversion.Conversion`: the page shows what the lead would
become (a new customer or one that exists, a contact, an opportunity) and the likely
duplicates the user can see; the POST converts in one transaction or shows what stopped it.
The other steps of the chain (quote from an opportunity, order from a quote, return from an
order) are new forms filled from their source, see :mod:`kehu.records.drafts`.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_login import login_required

from kehu.errors import NotFound, RecordInvalid
from kehu.records.conversion import PossibleDuplicates
from kehu.records.query import Filter, ListQuery
from kehu.web import i18n
from kehu.web.i18n import gettext as _
from kehu.web.records import go_to
from kehu.web.render import DisplayContext
from kehu.web.context import service, site

bp = Blueprint("sales", __name__, url_prefix="/app")

# the fields the conversion page lets the user change; the others are copied from the lead
SHOWN = {
    "customer": ("name", "industry", "tax_number", "phone"),
    "contact": ("name", "title", "mobile", "email"),
    "opportunity": ("name", "amount", "expected_close"),
}


@bp.before_request
@login_required
def _signed_in():
    return None


def _lead(svc, lead_id: int) -> dict:
    conversion = svc.conversion
    if not conversion.available():
        abort(404)
    lead = svc.get("lead", lead_id)  # 404 for a lead the user cannot see
    return lead


@bp.route("/lead/<int:lead_id>/convert", methods=["GET", "POST"])
def convert(lead_id):
    svc = service()
    conversion = svc.conversion
    lead = _lead(svc, lead_id)
    if conversion.is_converted(lead):
        flash(_("This lead has already been converted."), "error")
        return go_to(url_for("records.detail", entity="lead", record_id=lead_id))
    if not conversion.can_convert(lead):
        svc.refuse_if_locked(svc.meta.entity("lead"), lead)
        svc.policy.require(svc.meta.entity("lead"), "write", lead)
        svc.policy.require(svc.meta.entity("customer"), "create")
        flash(_("An unqualified lead is not converted; mark it qualified first."), "error")
        return go_to(url_for("records.detail", entity="lead", record_id=lead_id))
    proposal = conversion.proposal(lead)
    if request.method == "GET":
        choices = {"customer": {"mode": "new"}, "contact": {"mode": "new"},
                   "opportunity": {"mode": "new" if proposal["opportunity"] else "none"}}
        values = proposal
        duplicates = conversion.duplicates(proposal["customer"], proposal["contact"])
        return _page(lead, choices, values, duplicates=duplicates)
    choices = _choices(svc, request.form)
    values = {part: {**proposal[part], **choices[part].get("values", {})} for part in SHOWN}
    try:
        done = conversion.convert_lead(lead_id, choices)
    except PossibleDuplicates as exc:
        return _page(lead, choices, values, duplicates=exc.duplicates, warned=str(exc), status=409)
    except RecordInvalid as exc:
        return _page(lead, choices, values, errors=exc.errors, status=422)
    titles = _titles(svc, done)
    flash(_("Lead converted: %(what)s.", what="、".join(titles) if i18n.lang() == "zh" else ", ".join(titles)))
    return go_to(url_for("records.detail", entity="lead", record_id=lead_id))


def _choices(svc, form) -> dict:
    """The page's form as conversion choices (see :mod:`kehu.records.conversion`)."""
    out: dict = {"allow_duplicates": form.get("allow_duplicates") == "1"}
    for part, shown in SHOWN.items():
        default = "none" if part == "opportunity" else "new"
        mode = form.get(f"{part}_mode", default)
        choice: dict = {"mode": mode}
        if mode == "existing":
            choice["id"] = form.get(f"{part}_id")
        elif mode == "new":
            choice["values"] = {name: form.get(f"{part}-{name}") for name in shown if f"{part}-{name}" in form}
        out[part] = choice
    kind, _sep, record_id = form.get("link", "").partition(":")
    if kind in ("customer", "contact") and _int(record_id) is not None:  # "link this one" on a duplicate
        out[kind] = {"mode": "existing", "id": _int(record_id)}
        if kind == "contact":  # a contact comes with its customer
            try:
                out["customer"] = {"mode": "existing", "id": svc.get("contact", _int(record_id)).get("customer")}
            except NotFound:
                pass
    return out


def _page(lead: dict, choices: dict, values: dict, *, errors=None, duplicates=(), warned=None, status=200):
    svc = service()
    meta = site().metadata
    parts = []
    for part, shown in SHOWN.items():
        entity = meta.entities.get(part)
        if entity is None:
            continue
        fields = [entity.field(n) for n in shown if entity.has_field(n) and svc.policy.can_edit_field(entity, n)]
        parts.append((part, entity, fields))
    linked = {part: _int(choices[part].get("id")) for part in ("customer", "contact")
              if choices[part].get("mode") == "existing"}
    placed = {f"{part}.{f.name}" for part, _entity, fields in parts for f in fields} | set(SHOWN)
    stray = []
    for key, messages in (errors or {}).items():
        if key in placed:
            continue
        part, _dot, name = key.partition(".")
        entity = meta.entities.get(part)
        where = entity.label.get(svc.lang) if entity is not None else ""
        if entity is not None and name in entity.fields:
            where += " · " + entity.field(name).label.get(svc.lang)
        stray.extend((where, m) for m in messages)
    labels: dict[tuple[str, int], str] = {}
    for part in ("customer", "contact"):
        ids = [linked.get(part)] + ([d.customer for d in duplicates] if part == "customer" else [])
        if part in meta.entities:
            labels.update({(part, rid): title for rid, title in svc.visible_titles(part, [i for i in ids if i]).items()})
    html = render_template(
        "sales/convert.html", lead=lead, title=svc.title_of(meta.entity("lead"), lead), parts=parts, choices=choices,
        values=values, errors=errors or {}, stray_errors=stray, duplicates=duplicates, warned=warned, labels=labels,
        linked=linked,
        ctx=DisplayContext(site(), i18n.lang(), labels, "lead"), lead_entity=meta.entity("lead"))
    return html, status


def _titles(svc, done: dict) -> list[str]:
    out = []
    for part in ("customer", "contact", "opportunity"):
        if done.get(part) is not None:
            entity = svc.meta.entity(part)
            title = svc.visible_titles(part, [done[part]]).get(done[part], "")
            out.append(f"{entity.label.get(svc.lang)} {title}")
    return out


@bp.route("/lead/<int:lead_id>/convert/-/lookup/<part>")
def convert_lookup(lead_id, part):
    """Type-ahead of the conversion page: customers, or the chosen customer's contacts."""
    svc = service()
    _lead(svc, lead_id)
    if part not in ("customer", "contact"):
        abort(404)
    target = f"{part}_id"
    term = request.args.get(f"{target}__search", "")
    customer = _int(request.args.get("customer_id"))
    if part == "contact" and customer is not None:
        entity = svc.meta.entity("contact")
        query = ListQuery(filters=[Filter("customer", "eq", (customer,), (str(customer),))],
                          q=term.strip()[:100], per_page=20)
        rows = svc.list("contact", query, [entity.title_field]).rows
        results = [(r["id"], svc.title_of(entity, r)) for r in rows]
    else:
        results = svc.search_lookup(part, term)
    return render_template("records/_lookup_results.html", results=results, target=target)


def _int(value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None
