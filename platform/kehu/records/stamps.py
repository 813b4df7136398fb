"""Date stamps: a date or datetime field declared with ``stamp_when: <expression>`` is set to
today (now) by the save that makes the expression true, when the field is still empty.

An order's ``delivered_on`` declares ``stamp_when: "status in ['delivered', 'invoiced', ...]"``,
so it gets the day the order is first marked delivered, and keeps it: a later step, a later
save or a step back never replaces a stamped date (a person may still correct it by hand,
where the field is editable). A value typed in the same save wins over the stamp.

Saves through the record service are stamped by the ``before_record_save`` default plugin;
changes a workflow makes (``on_approve: {set: {status: confirmed}}``) by the
``after_approval_event`` one, in the approval's transaction and row version.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from kehu import expressions
from kehu.metadata.model import Entity, Field


def stamped_fields(entity: Entity) -> list[Field]:
    return [f for f in entity.fields.values() if f.get("stamp_when") and f.type in ("date", "datetime")]


def _holds(service, fld: Field, record: dict | None) -> bool:
    if record is None:
        return False
    try:
        return bool(expressions.evaluate(fld.get("stamp_when"), service._env(fld.entity, record)))
    except expressions.ExpressionError:
        return False


def _now(fld: Field):
    return dt.date.today() if fld.type == "date" else dt.datetime.now().replace(second=0, microsecond=0)


def stamp(service, entity: Entity, values: dict, existing: dict | None) -> None:
    """Stamp ``values`` (about to be saved) where a condition has just become true."""
    for fld in stamped_fields(entity):
        if values.get(fld.name) is None and _holds(service, fld, values) and not _holds(service, fld, existing):
            values[fld.name] = _now(fld)


def stamp_stored(service, conn, entity: Entity, record_id: int) -> None:
    """Stamp a stored record whose fields a workflow changed: every empty stamped field whose
    condition holds now. Written in the record's current row version (the workflow's own
    change, in the same transaction), with a history entry."""
    fields = stamped_fields(entity)
    if not fields:
        return
    table = service.tables[entity.name]
    row = conn.execute(sa.select(table).where(table.c.id == record_id)).mappings().first()
    if row is None:
        return
    record = dict(row)
    changes = [(f.name, None, _now(f)) for f in fields if record.get(f.name) is None and _holds(service, f, record)]
    if not changes:
        return
    conn.execute(sa.update(table).where(table.c.id == record_id, table.c.row_version == record["row_version"])
                 .values(**{name: value for name, _, value in changes}))
    service._history(conn, entity, record_id, record["row_version"], "update", changes)
