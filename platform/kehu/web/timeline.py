"""A record's history and 360° timeline on its page, and the "more" endpoint of the timeline.

The entries come from :mod:`kehu.records.timeline` (through the record service, so only what
the viewer may read); this module fetches, in one batch, the names of the people and records
the changes mention, so the page shows labels, names and formatted values, never ids.
"""

from __future__ import annotations

from flask import Blueprint, abort, request
from flask_login import login_required
from htmx_flask import make_response as hx_response

from kehu.records.timeline import Timeline, record_history
from kehu.web import i18n
from kehu.web.context import service, site
from kehu.web.render import DisplayContext

bp = Blueprint("timeline", __name__, url_prefix="/app")

PAGE = 20


@bp.before_request
@login_required
def _signed_in():
    return None


def _limit() -> int:
    try:
        return max(PAGE, min(int(request.args.get("limit", PAGE)), 500))
    except (TypeError, ValueError):
        return PAGE


def entries_of(svc, ent, record_id: int, labels: dict, limit: int = PAGE) -> tuple[list, bool]:
    """(the entries shown on the record's page, whether there are more): its 360° timeline
    when its detail layout declares one, else its history. ``labels`` gains the names of the
    records and people the changes mention (one query per target)."""
    if site().metadata.layout(ent.name, "detail").timeline:
        entries, more = Timeline(svc).entries(ent.name, record_id, limit)
    else:
        entries, more = record_history(svc, ent.name, record_id), False
    wanted: dict[str, list[dict]] = {}
    for entry in entries:
        for change in entry.changes:
            fld = ent.fields.get(change.field)
            if fld is None or fld.type not in ("lookup", "user"):
                continue
            for text in (change.old, change.new):
                if text and text.isdigit():
                    wanted.setdefault(fld.name, []).append({fld.name: int(text)})
    if wanted:
        with site().reading() as conn:
            rows = [row for group in wanted.values() for row in group]
            labels.update(svc.labels_for(ent, rows, wanted, conn))
    return entries, more


@bp.route("/<entity>/<int:record_id>/timeline")
def more(entity, record_id):
    """More of a record's timeline: the htmx swap, or a page of its own without JavaScript."""
    from kehu.web.approvals import approval_context
    from kehu.web.records import partial_or_page, templates

    ent = site().metadata.entities.get(entity)
    if ent is None:
        abort(404)
    svc = service()
    record = svc.get(ent.name, record_id)  # 404 unless readable
    labels: dict = {}
    limit = _limit()
    entries, has_more = entries_of(svc, ent, record_id, labels, limit)
    html = partial_or_page("records/_timeline.html", templates("timeline", ent.name), entity=ent, record=record,
                           history=entries, history_more=has_more, history_limit=limit,
                           approval=approval_context(svc, ent, record), title=svc.title_of(ent, record),
                           ctx=DisplayContext(site(), i18n.lang(), labels, ent.name))
    response = hx_response(html)
    response.vary.add("HX-Request")
    return response
