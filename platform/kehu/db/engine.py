"""Engines with the settings Kehu relies on.

SQLite: WAL, foreign keys on, a busy timeout, and SQLAlchemy's recipe for transactional DDL
(the driver's own transaction handling is switched off and ``BEGIN`` is emitted here), so a
failed migration rolls back whole. A connection opened with the execution option
``kehu_write=True`` begins with ``BEGIN IMMEDIATE``: writers queue on the busy timeout
instead of failing when two of them upgrade a read lock at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            immediate = conn.get_execution_options().get("kehu_write")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # pre-ping: after an outage, dead pooled connections are replaced on the next checkout;
    # a connect timeout: an unreachable server fails a request instead of holding it
    return sa.create_engine(url, pool_pre_ping=True,
                            connect_args={"connect_timeout": 10} if url.startswith("postgresql") else {})


def is_sqlite(engine_or_conn) -> bool:
    return engine_or_conn.dialect.name == "sqlite"


def _sqlstate(exc: BaseException) -> str | None:
    return getattr(getattr(exc, "orig", None), "sqlstate", None)


def is_disk_full(exc: BaseException) -> bool:
    """Whether a database error means the disk (or the database's quota) is full: SQLite's
    SQLITE_FULL, PostgreSQL's disk_full (53100) or a "No space left on device"."""
    text = str(getattr(exc, "orig", exc))
    return _sqlstate(exc) == "53100" or "database or disk is full" in text or "No space left on device" in text


def is_lock_timeout(exc: BaseException) -> bool:
    """Whether a database error is a lock wait that gave up: PostgreSQL's lock_not_available
    (55P03, what ``lock_timeout`` raises) or SQLite's "database is locked" (busy timeout)."""
    return _sqlstate(exc) == "55P03" or "database is locked" in str(getattr(exc, "orig", exc))
