"""CSV export of a list, with the list's filters, through the record service.

An export hands out data in bulk, so it is an action, not a link: requested by POST with
the CSRF token (the list's "Export" form carries the list's filters), refused on GET (405),
and written to the audit log by the record service (who, entity, filters, row count).

Cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return, after leading spaces and control characters) get a leading apostrophe; numbers are
written as numbers. The file starts with a byte-order mark so Excel opens Chinese text
correctly.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from urllib.parse import quote

import nh3
from flask import Blueprint, Response, abort, current_app, request, stream_with_context
from flask_login import current_user, login_required

from kehu.records.query import parse
from kehu.web import i18n
from kehu.web.render import DisplayContext

bp = Blueprint("export", __name__, url_prefix="/app")

_LEADERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A value as a CSV cell that no spreadsheet will evaluate."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, dt.datetime) else value.isoformat()
    text = str(value)
    stripped = text.lstrip(" \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x1a\x1b")
    if stripped.startswith(_LEADERS):
        return "'" + text
    return text


def _cell(field, value, ctx, types):
    """Picklists and lookups as their labels, numbers as numbers, everything else as text."""
    if value is None:
        return None
    if field.type == "lookup":
        return ctx.lookup_label(field.target, value)
    if field.type in ("picklist", "multi_picklist", "user", "boolean"):
        return str(types[field.type].display(value, field, ctx))
    if field.type == "attachment":
        info = types["attachment"].decode(value)
        return info["name"] if info else None
    if field.type == "rich_text":
        return nh3.clean(value, tags=set()).strip()
    return value


@bp.route("/<entity>/export.csv", methods=["POST"])
@login_required
def export_csv(entity):
    site = current_app.extensions["kehu"]
    ent = site.metadata.entities.get(entity)
    if ent is None or ent.child_of:
        abort(404)
    svc = site.records(site.actor(current_user.row), i18n.lang())
    layout = site.metadata.layout(ent.name, "list")
    hidden = svc.policy.hidden_fields(ent)
    query = parse(ent, layout, request.form, site.field_types, i18n.lang(), hidden)
    if query.errors:
        abort(400, "; ".join(query.errors))
    columns = ["id"] + [f.name for f in ent.user_fields() if site.field_types[f.type].stored] + ["owner", "created_at", "updated_at"]
    fields, rows = svc.export(ent.name, query, columns)
    lang = i18n.lang()

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow(["ID"] + [f.label.get(lang) for f in fields if f.name != "id"])
        ctx = DisplayContext(site, lang, {}, ent.name)
        for row, labels in rows:
            ctx.labels = labels
            writer.writerow([row["id"]] + [safe_cell(_cell(f, row.get(f.name), ctx, site.field_types))
                                           for f in fields if f.name != "id"])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    filename = f"{ent.name}-{dt.date.today():%Y%m%d}.csv"
    label_name = quote(f"{ent.plural_label.get(lang)}-{dt.date.today():%Y%m%d}.csv")
    return Response(stream_with_context(generate()), mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{label_name}",
        "X-Content-Type-Options": "nosniff",
    })
