""""My team": a department manager's people and how much each of them has in hand.

Every count runs through the record service with the manager's own permissions, from the
same list-query parameters that the count links to, so a number and the list behind it
always agree (and a manager never counts what they may not read).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import Blueprint, current_app, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from kehu.org import OrgService
from kehu.records.query import parse
from kehu.web import i18n
from kehu.web.i18n import gettext as _

bp = Blueprint("team", __name__)

RECENT_DAYS = 14


def _columns(today: dt.date) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(entity, column heading, list filters besides the owner) of each count."""
    since = today - dt.timedelta(days=RECENT_DAYS)
    return [
        ("opportunity", _("Open opportunities"), [("f.stage.ne", "won"), ("f.stage.ne", "lost")]),
        ("activity", _("Activities in the last 14 days"),
         [("f.due_at.gte", since.isoformat()), ("f.due_at.lte", today.isoformat())]),
        ("customer", _("Customers"), []),
    ]


def _count(site, svc, entity_name: str, params: list[tuple[str, str]]):
    """(count, list URL) for records the manager can read, or (None, None) when they cannot."""
    entity = site.metadata.entities[entity_name]
    if not svc.policy.can(entity, "read"):
        return None, None
    query = parse(entity, site.metadata.layout(entity.name, "list"), MultiDict(params), site.field_types,
                  svc.lang, svc.policy.hidden_fields(entity))
    if query.errors:
        return None, None
    url = url_for("records.list_view", entity=entity.name) + "?" + urlencode(query.params())
    return svc.count(entity.name, query), url


@bp.route("/-/team")
@login_required
def my_team():
    site = current_app.extensions["kehu"]
    actor = site.actor(current_user.row)
    lang = i18n.lang()
    org = OrgService(site, actor, lang)
    svc = site.records(actor, lang)
    columns = [c for c in _columns(dt.date.today()) if c[0] in site.metadata.entities]
    departments = org.departments()
    managed = [departments[d] for d in sorted(org.managed_departments(actor.id)) if d in departments]
    people = []
    for user in org.subordinates(actor.id):
        dept = departments.get(user["department_id"])
        counts = [_count(site, svc, name, [("f.owner.eq", str(user["id"]))] + extra) for name, _h, extra in columns]
        people.append((user, dept.label(lang) if dept else "", counts))
    people.sort(key=lambda p: (p[1], p[0]["display_name"]))
    return render_template("team.html", columns=columns, people=people,
                           managed=[d.label(lang) for d in managed])
