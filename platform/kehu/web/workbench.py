"""The workbench: the page a signed-in user lands on (``/``, ``pages.home``) — what is due,
what waits for their approval, what they work on — and the small endpoints it uses:
the counts it polls, marking notifications read, and the favourite star of a record.

Every record shown comes through the record service: the sections are record lists with the
actor's permission predicate (built from the same URL filters the "show all" links carry, so
a number and the list behind it agree); notifications, favourites and recent records come
from ``svc.personal`` (:mod:`kehu.records.personal`), which names only records the user
can still read. This module only arranges and renders them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_login import current_user, login_required
from htmx_flask import make_response as hx_response
from werkzeug.datastructures import MultiDict

from kehu.metadata.model import Entity
from kehu.records.query import Filter, ListQuery, parse
from kehu.web import i18n
from kehu.web.i18n import gettext as _
from kehu.web.render import DisplayContext
from kehu.web.context import service, site

bp = Blueprint("workbench", __name__)

SCHEDULE_SIZE = 10
EARLIER_SIZE = 6
LIST_SIZE = 8
NOTIFICATION_SIZE = 10
APPROVAL_SIZE = 5
FAVOURITE_SIZE = 12
REMINDER_DAYS = 7

ACTIVITY_CLOSED = ("completed", "cancelled")
OPPORTUNITY_CLOSED = ("won", "lost")
REQUEST_CLOSED = ("resolved", "closed")




def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


@dataclass
class Section:
    """One card of records: up to a few rows of one entity, the total, the list links."""

    entity: Entity
    rows: list[dict]
    total: int
    ctx: DisplayContext
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, list URL)
    overdue: int = 0
    earlier: "Section | None" = None  # the schedule's open activities from before today


class Workbench:
    """What the workbench shows the actor, each part a few queries through the record service."""

    def __init__(self, svc, now: dt.datetime | None = None):
        self.svc = svc
        self.site = svc.site
        self.meta = svc.site.metadata
        self.me = svc.actor.id
        self.now = now or _now()
        self.today = self.now.date()

    # ------------------------------------------------------------ display
    def when(self, value) -> str:
        """A date or time, as short as it can be: "Today 09:30", "Tomorrow", "03-18 14:00", "2025-11-02"."""
        if value is None:
            return ""
        day = value.date() if isinstance(value, dt.datetime) else value
        clock = value.strftime(" %H:%M") if isinstance(value, dt.datetime) else ""
        if day == self.today:
            return _("Today") + clock
        if day == self.today + dt.timedelta(days=1):
            return _("Tomorrow") + clock
        if day == self.today - dt.timedelta(days=1):
            return _("Yesterday") + clock
        return day.strftime("%m-%d") + clock if day.year == self.today.year else day.isoformat()

    def late(self, value) -> bool:
        """Whether a due time (or date) has passed."""
        if isinstance(value, dt.datetime):
            return value < self.now
        if isinstance(value, dt.date):
            return value < self.today
        return False

    # ------------------------------------------------------------ queries
    def _entity(self, name: str, *fields: str):
        """The entity if the pack defines it with these fields, else None (the section is left out)."""
        entity = self.meta.entities.get(name)
        if entity is None or any(f not in entity.fields for f in fields):
            return None
        return entity

    def _query(self, entity, params: list[tuple[str, str]], per_page: int) -> ListQuery | None:
        """The list query the list page would build from ``params``; None when it refuses one
        (a field hidden from the actor cannot be filtered on, so that section shows nothing)."""
        query = parse(entity, self.meta.layout(entity.name, "list"), MultiDict(params), self.site.field_types,
                      self.svc.lang, self.svc.policy.hidden_fields(entity))
        if query.errors:
            return None
        query.per_page = per_page
        return query

    def _url(self, entity, params: list[tuple[str, str]]) -> str:
        return url_for("records.list_view", entity=entity.name) + "?" + urlencode(params)

    def _section(self, entity, branches: list, common: list[tuple[str, str]],
                 columns: list[str], size: int, sort: str) -> Section:
        """Records matching any of ``branches`` (disjoint filter sets, each ANDed with ``common``),
        merged and sorted: one list (a count and a select) per branch. A branch is a list of
        URL filter parameters, or a pair (parameters, filters built in code)."""
        rows, total, labels = [], 0, {}
        for branch in branches:
            params, built = branch if isinstance(branch, tuple) else (branch, [])
            query = self._query(entity, params + common + [("sort", sort)], size)
            if query is None:
                continue
            query.filters.extend(built)
            page = self.svc.list(entity.name, query, columns)
            rows.extend(page.rows)
            total += page.total
            labels.update(page.labels)
        key, desc = sort.lstrip("-"), sort.startswith("-")
        present = [r for r in rows if r.get(key) is not None]
        present.sort(key=lambda r: (r[key], r["id"]), reverse=desc)
        rows = (present + [r for r in rows if r.get(key) is None])[:size]
        return Section(entity, rows, total, DisplayContext(self.site, self.svc.lang, labels, entity.name))

    def _shown(self, section: Section | None) -> Section | None:
        """A section for an entity the actor has no access to at all is left out unless it has rows."""
        if section is None:
            return None
        if section.total or self.svc.policy.can(section.entity, "read"):
            return section
        return None

    # --------------------------------------------------------- activities
    def _my_activity_branches(self) -> list[list[tuple[str, str]]]:
        """Mine: assigned to me, or owned by me and assigned to nobody (disjoint)."""
        me = str(self.me)
        return [[("f.assigned_to.eq", me)], [("f.owner.eq", me), ("f.assigned_to.empty", "1")]]

    def _open_activity(self) -> list[tuple[str, str]]:
        return [("f.status.ne", key) for key in ACTIVITY_CLOSED]

    def schedule(self) -> Section | None:
        """My open activities due today (in time order) and, in ``earlier``, those left open from
        before today (the latest first). Everything past its due time is overdue."""
        entity = self._entity("activity", "assigned_to", "due_at", "status")
        if entity is None:
            return None
        columns = [c for c in ("subject", "type", "status", "priority", "due_at", "customer") if c in entity.fields]
        columns.append(entity.title_field)
        branches, open_ = self._my_activity_branches(), self._open_activity()
        yesterday = self.today - dt.timedelta(days=1)
        # a bare date covers the whole day: "eq today" is today, "lte yesterday" everything before it
        section = self._section(entity, branches, open_ + [("f.due_at.eq", self.today.isoformat())], columns,
                                SCHEDULE_SIZE, "due_at")
        section.earlier = self._section(entity, branches, open_ + [("f.due_at.lte", yesterday.isoformat())], columns,
                                        EARLIER_SIZE, "-due_at")
        if section.total <= len(section.rows):  # all of today's are here: no need to count again
            section.overdue = section.earlier.total + sum(1 for r in section.rows if self.late(r.get("due_at")))
        else:
            section.overdue = self.overdue_count()
        mine = branches[0] + open_ + [("f.due_at.lte", self.today.isoformat()), ("sort", "due_at")]
        section.links = [(_("Assigned to me"), self._url(entity, mine))]
        if section.total or section.earlier.total or self.svc.policy.can(entity, "read"):
            return section
        return None

    def overdue_count(self) -> int:
        """My open activities past their due time."""
        entity = self._entity("activity", "assigned_to", "due_at", "status")
        if entity is None or "due_at" in self.svc.policy.hidden_fields(entity):
            return 0
        total = 0
        for params in self._my_activity_branches():
            query = self._query(entity, params + self._open_activity(), 1)
            if query is None:
                continue
            # "before now" is not a list-page operator; the filter is built here, not parsed
            query.filters.append(Filter("due_at", "lt", (self.now,), (self.now.isoformat(),)))
            total += self.svc.count(entity.name, query)
        return total

    def reminders(self) -> Section | None:
        """My open activities whose reminder falls in the next days, soonest first."""
        entity = self._entity("activity", "assigned_to", "reminder_at", "status")
        if entity is None:
            return None
        until = self.today + dt.timedelta(days=REMINDER_DAYS)
        common = self._open_activity() + [("f.reminder_at.gte", self.now.isoformat()),
                                          ("f.reminder_at.lte", until.isoformat())]
        columns = [c for c in ("subject", "type", "reminder_at", "due_at") if c in entity.fields]
        return self._shown(self._section(entity, self._my_activity_branches(), common,
                                         columns + [entity.title_field], LIST_SIZE, "reminder_at"))

    # ------------------------------------------------------- my pipeline
    def opportunities(self) -> Section | None:
        """Opportunities I own that are neither won nor lost, closing soonest first."""
        entity = self._entity("opportunity", "stage")
        if entity is None:
            return None
        params = [("f.owner.eq", str(self.me))] + [("f.stage.ne", key) for key in OPPORTUNITY_CLOSED]
        sort = "expected_close" if "expected_close" in entity.fields else "-created_at"
        columns = [c for c in ("name", "customer", "stage", "amount", "expected_close") if c in entity.fields]
        section = self._section(entity, [params], [], columns + [entity.title_field], LIST_SIZE, sort)
        section.links = [(_("Show all"), self._url(entity, params + [("sort", sort)]))]
        return self._shown(section)

    def service_requests(self) -> Section | None:
        """Open service requests I own or am the engineer of (disjoint branches), newest first."""
        entity = self._entity("service_request", "status", "engineer")
        if entity is None:
            return None
        me = str(self.me)
        open_ = [("f.status.ne", key) for key in REQUEST_CLOSED]
        # "the engineer is someone else" is not a list-page operator on user fields: built here
        others = Filter("engineer", "ne", (self.me,), (me,))
        branches = [[("f.engineer.eq", me)],
                    [("f.owner.eq", me), ("f.engineer.empty", "1")],
                    ([("f.owner.eq", me), ("f.engineer.not_empty", "1")], [others])]
        sort = "-reported_at" if "reported_at" in entity.fields else "-created_at"
        columns = [c for c in ("subject", "status", "priority", "reported_at", "due_at") if c in entity.fields]
        section = self._section(entity, branches, open_, columns + [entity.title_field], LIST_SIZE, sort)
        section.links = [
            (_("As engineer"), self._url(entity, branches[0] + open_)),
            (_("Owned by me"), self._url(entity, [("f.owner.eq", me)] + open_)),
        ]
        return self._shown(section)

    # ------------------------------------------------ recent, favourites
    def recent(self, entity_name: str = "customer", size: int = LIST_SIZE) -> list[dict]:
        """Records of one entity I changed lately (from the field history), latest first."""
        entity = self._entity(entity_name)
        if entity is None:
            return []
        return [{"entity": entity, "id": rid, "title": title, "at": at}
                for rid, title, at in self.svc.personal.recent(entity.name, size)]

    def favourites(self, size: int = FAVOURITE_SIZE) -> list[dict]:
        """My favourite records I can still see, latest first (one title query per entity)."""
        return [{"entity": self.meta.entities[name], "id": rid, "title": title, "at": at}
                for name, rid, title, at in self.svc.personal.favourites(size)]

    # ------------------------------------------- notifications, approvals
    def notifications(self, size: int = NOTIFICATION_SIZE) -> list[dict]:
        """My unread notifications, newest first, each with a link to its record."""
        rows = self.svc.personal.notifications(size)
        for r in rows:
            entity = self.meta.entities.get(r["entity"] or "")
            r["url"] = (url_for("records.detail", entity=entity.name, record_id=r["record_id"])
                        if entity is not None and not entity.child_of and r["record_id"] else None)
        return rows

    def unread_count(self) -> int:
        return self.svc.personal.unread_count()

    def approvals(self) -> tuple[int, list[dict]]:
        """(how many approvals wait for me, the first few of them)."""
        waiting = approvals_waiting()
        return waiting, self.svc.approvals.inbox(limit=APPROVAL_SIZE) if waiting else []

    def counts(self) -> dict[str, int]:
        """The numbers the page polls."""
        return {"approvals": approvals_waiting(), "unread": self.unread_count(), "overdue": self.overdue_count()}


# ------------------------------------------------------------------ views
def page():
    """The workbench page (served as ``pages.home``)."""
    svc = service()
    svc.approvals.send_reminders()  # overdue approval reminders go out once; cheap when none are due
    bench = Workbench(svc)
    waiting, inbox = bench.approvals()
    notifications = bench.notifications()
    unread = len(notifications) if len(notifications) < NOTIFICATION_SIZE else bench.unread_count()
    schedule = bench.schedule()
    counts = {"approvals": waiting, "unread": unread, "overdue": schedule.overdue if schedule else 0}
    return render_template(
        "home.html", bench=bench, today_label=format_date(bench.today, format="full"), counts=counts,
        schedule=schedule, reminders=bench.reminders(), notifications=notifications, inbox=inbox,
        opportunities=bench.opportunities(), service_requests=bench.service_requests(),
        customer=site().metadata.entities.get("customer"), recent=bench.recent("customer"),
        favourites=bench.favourites())


@bp.route("/-/workbench/counts")
@login_required
def counts():
    """The workbench's numbers and its notifications card as out-of-band swaps (the page polls this)."""
    bench = Workbench(service())
    response = hx_response(render_template("workbench/_notifications.html", bench=bench, counts=bench.counts(),
                                           notifications=bench.notifications(), oob=True, card_oob=True))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/-/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id):
    service().personal.mark_read(notification_id)  # someone else's is the same 404 as none
    return _notifications_response()


@bp.route("/-/notifications/read-all", methods=["POST"])
@login_required
def mark_all_read():
    service().personal.mark_all_read()
    return _notifications_response()


def _notifications_response():
    """htmx: the notifications card again, with the counts out of band; otherwise back to the page."""
    if not request.headers.get("HX-Request"):
        return redirect(url_for("pages.home"))
    bench = Workbench(service())
    response = hx_response(render_template("workbench/_notifications.html", bench=bench,
                                           notifications=bench.notifications(), counts=bench.counts(), oob=True))
    response.vary.add("HX-Request")
    return response


# ------------------------------------------------------------- favourites
@bp.route("/-/favourites/<entity>/<int:record_id>", methods=["POST"])
@login_required
def favourite(entity, record_id):
    """Star or unstar a record the user can read (``on`` = 1 or 0; without it, toggle)."""
    ent = site().metadata.entities.get(entity)
    if ent is None or ent.child_of:
        abort(404)
    wanted = request.form.get("on")
    # NotFound (404) when the user cannot read it
    record = service().personal.set_favourite(ent.name, record_id, None if wanted not in ("0", "1") else wanted == "1")
    if not request.headers.get("HX-Request"):
        return redirect(url_for("records.detail", entity=ent.name, record_id=record_id))
    response = hx_response(render_template("records/_favourite.html", entity=ent, record=record))
    response.vary.add("HX-Request")
    return response


@bp.app_template_global()
def is_favourite(entity_name: str, record_id) -> bool:
    """Whether the signed-in user starred the record (the detail page's star)."""
    if not current_user.is_authenticated or record_id is None:
        return False
    return service().personal.is_favourite(entity_name, record_id)


@bp.app_template_global()
def approvals_waiting() -> int:
    """How many approval tasks wait for the signed-in user (the top bar's badge), once per request."""
    if not current_user.is_authenticated:
        return 0
    if "kehu_approvals_waiting" not in g:
        g.kehu_approvals_waiting = service().approvals.pending_count()
    return g.kehu_approvals_waiting
