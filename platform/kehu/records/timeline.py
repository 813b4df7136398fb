"""A record's history, readable, and its timeline: what happened to it and around it.

:func:`record_history` groups the field history of one record by save (one entry per create,
change, delete or restore, each with the fields it changed) and merges the record's approval
events. :class:`Timeline` adds the records of related entities a detail layout names
(``timeline:``, e.g. a customer's contacts, activities, quotes, orders, returns, service
requests and feedback) to that history: newest first, each related entity read with one
bounded query through the record service's read predicate, so a viewer sees only what they may
read and the cost never grows with the number of rows shown.

Values stay as stored here; the web layer words them (labels, names, formatted values).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field as dc_field
from typing import Any

import sqlalchemy as sa

from kehu.metadata.model import Entity, TimelineSource
from kehu.records.query import Filter, ListQuery

MAX_ITEMS = 500


@dataclass
class Change:
    """One field changed by a save: the stored texts before and after."""

    field: str
    old: str | None
    new: str | None


@dataclass
class Entry:
    """One line of a record's history or timeline.

    ``kind`` is ``change`` (a save of the record: ``action`` create, update, delete or
    restore, with its ``changes``), ``approval`` (an approval event, in ``event``) or
    ``record`` (a related record: ``entity``, ``record`` with ``id``, ``title``, ``date`` and
    ``status``, and the ``source`` that found it)."""

    kind: str
    at: dt.datetime
    user_name: str | None = None
    action: str | None = None
    changes: list[Change] = dc_field(default_factory=list)
    event: dict | None = None
    entity: Entity | None = None
    record: dict | None = None
    source: TimelineSource | None = None
    order: int = 0  # ties: the later stored first

    # the template of the approval events reads these names
    def __getattr__(self, name: str) -> Any:
        event = self.__dict__.get("event")
        if event is not None and name in event:
            return event[name]
        raise AttributeError(name)


def _moment(value) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time.min)
    return None


def group_history(rows: list[dict]) -> list[Entry]:
    """The field history (one row per changed field, newest first) as one entry per save."""
    entries: list[Entry] = []
    current: Entry | None = None
    key = None
    for row in rows:
        row_key = (row["row_version"], row["action"], row["user_id"], row["at"])
        if current is None or row_key != key:
            current = Entry("change", row["at"], row.get("user_name"), row["action"], order=row["id"])
            entries.append(current)
            key = row_key
        if row["field"]:
            current.changes.append(Change(row["field"], row["old_value"], row["new_value"]))
    for entry in entries:
        entry.changes.reverse()  # in the order they were written
    return entries


def record_history(svc, entity_name: str, record_id: int) -> list[Entry]:
    """The record's saves and approval events, newest first (404 unless readable)."""
    entries = group_history(svc.history(entity_name, record_id))
    entries += [Entry("approval", e["at"], e.get("actor_name"), e["action"], event=e, order=e["id"])
                for e in svc.approvals.events(entity_name, record_id)]
    return sorted(entries, key=lambda e: (e.at, e.kind == "approval", e.order), reverse=True)


class Timeline:
    """The merged timeline of one record, for one actor."""

    def __init__(self, svc):
        self.svc = svc
        self.meta = svc.meta

    def sources(self, entity: Entity) -> list[TimelineSource]:
        """The sources of the entity's detail layout that the actor can read at all (no
        query for the others), whose lookup to the record they may see."""
        policy = self.svc.policy
        out = []
        for source in self.meta.layout(entity.name, "detail").timeline:
            target = self.meta.entities.get(source.entity)
            if target is None or policy.level(target.name, "read") == "none":
                continue
            if source.field in policy.hidden_fields(target):
                continue
            out.append(source)
        return out

    def related(self, source: TimelineSource, record_id: int, limit: int) -> list[Entry]:
        """The newest ``limit`` records of one source that point at the record and that the
        actor can read: one query."""
        svc = self.svc
        entity = self.meta.entity(source.entity)
        table = svc.tables[entity.name]
        hidden = svc.policy.hidden_fields(entity)
        title, shown = svc._title_column(entity, table)
        date = table.c[source.date] if source.date in table.c and source.date not in hidden else table.c.created_at
        status = table.c[source.status] if source.status and source.status in table.c and source.status not in hidden else None
        query = ListQuery(filters=[Filter(source.field, "eq", (record_id,), (str(record_id),))])
        columns = [table.c.id, title.label("title"), date.label("date"), table.c.created_at]
        if status is not None:
            columns.append(status.label("status"))
        stmt = (sa.select(*columns).where(svc._where(entity, table, query))
                .order_by(sa.nulls_last(date.desc()), table.c.id.desc()).limit(limit))
        with svc.site.reading() as conn:
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
        entries = []
        for row in rows:
            record = {"id": row["id"], entity.title_field: row["title"] if shown else None}
            entries.append(Entry(
                "record", _moment(row["date"]) or row["created_at"], entity=entity, source=source,
                record={"id": row["id"], "title": svc.title_of(entity, record), "date": row["date"],
                        "status": row.get("status")},
                order=row["id"]))
        return entries

    def entries(self, entity_name: str, record_id: int, limit: int = 20) -> tuple[list[Entry], bool]:
        """(the newest ``limit`` entries, whether there are more): the record's own history
        and, for each source, its newest ``limit + 1`` related records (one query each)."""
        entity = self.svc.entity(entity_name)
        limit = max(1, min(int(limit), MAX_ITEMS))
        merged = record_history(self.svc, entity.name, record_id)  # 404 unless readable
        for source in self.sources(entity):
            merged += self.related(source, record_id, limit + 1)
        merged.sort(key=lambda e: (e.at, e.kind != "record", e.order), reverse=True)
        return merged[:limit], len(merged) > limit
