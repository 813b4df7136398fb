"""Coding rules for autonumber fields, allocated under a lock so they are unique.

``CUS-{YYYY}{MM}-{####}``: date tokens (``YYYY YY MM DD``) make the prefix, a run of ``#``
the zero-padded sequence. The counter key includes the resolved prefix, so the sequence
restarts each period. The counter row is bumped with ``UPDATE ... RETURNING`` inside the
caller's write transaction (``BEGIN IMMEDIATE`` on SQLite, a row lock on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

_TOKEN = re.compile(r"\{(YYYY|YY|MM|DD|#+)\}")


def render(fmt: str, today: dt.date, sequence: int | None) -> str:
    def sub(match):
        token = match.group(1)
        if token.startswith("#"):
            return "{SEQ}" if sequence is None else str(sequence).zfill(len(token))
        return {"YYYY": f"{today:%Y}", "YY": f"{today:%y}", "MM": f"{today:%m}", "DD": f"{today:%d}"}[token]

    return _TOKEN.sub(sub, fmt)


def next_code(conn, counters: sa.Table, entity: str, field: str, fmt: str, today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    key = f"{entity}.{field}:{render(fmt, today, None)}"[:120]
    dialect = conn.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(counters)
    conn.execute(insert.values(key=key, value=0).on_conflict_do_nothing(index_elements=["key"]))
    value = conn.execute(
        sa.update(counters).where(counters.c.key == key).values(value=counters.c.value + 1).returning(counters.c.value)
    ).scalar_one()
    return render(fmt, today, value)
