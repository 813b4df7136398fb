"""Shared set-up of the benchmarks: an app over the real packs on a given database."""

from __future__ import annotations

import tempfile

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from kehu import create_app


def ensure_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).first()
        if not exists:
            name = conn.dialect.identifier_preparer.quote(parsed.database)
            conn.exec_driver_sql("CREATE DATABASE " + name)
    admin.dispose()


def make_app(url: str):
    ensure_database(url)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tempfile.mkdtemp(), "SECRET_KEY": "bench"})
    site = app.extensions["kehu"]
    site.migrate()
    return app, site


def admin_user(site) -> int:
    users = site.tables.users
    with site.engine.connect() as conn:
        found = conn.execute(sa.select(users.c.id).where(users.c.username == "bench")).scalar()
    return found or site.create_user("bench", "bench-pw", "Bench", is_admin=True, locale="en")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]
