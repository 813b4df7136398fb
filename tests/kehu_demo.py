"""The demo-data harness: ``kehu demo`` data loaded once per test session, a fresh copy per test.

Journey and property tests run on the real packs with the demo organisation (its people,
departments, roles and records), the way a new user meets Kehu. Loading the demo takes
tens of seconds, so it happens once per session (per xdist worker) into a *template*:

- SQLite: a database file; each test gets a file copy (well under a second);
- PostgreSQL (``KEHU_TEST_DATABASE_URL``): a template database; each test gets
  ``CREATE DATABASE … TEMPLATE …``, dropped when the test ends.

The fixtures built on this module live in ``tests/conftest.py`` (``demo``, ``demo_app``,
``demo_client``, ``demo_live``); ``tests/README.md`` shows how to use them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from kehu_testing import PG_URL, TEST_PASSWORD_METHOD, Client, real_packs

# Small but realistic: every entity has rows, lists have more than one page, some quotes wait
# for approval. (The full demo, scale 1.0, is for people, and for bench/.)
DEMO_SCALE = float(os.environ.get("KEHU_TEST_DEMO_SCALE", "0.1"))
DEMO_SEED = 2026


@dataclass(frozen=True)
class DemoTemplate:
    """A loaded demo database to copy from, with what the tests need to know about it."""

    kind: str                       # "sqlite" or "postgresql"
    source: str                     # the template file (SQLite) or database name (PostgreSQL)
    logins: tuple[tuple[str, str, str], ...]   # (username, password, description) as load_demo returns
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)   # username -> role names
    admins: tuple[str, ...] = ()

    def password(self, username: str) -> str:
        return next(p for u, p, _ in self.logins if u == username)

    def user_for_role(self, role: str) -> str | None:
        """The first demo login (in the demo's order) holding ``role``, admins last."""
        holders = [u for u, _, _ in self.logins if role in self.roles.get(u, ())]
        plain = [u for u in holders if u not in self.admins]
        return (plain or holders or [None])[0]

    def one_user_per_role(self) -> dict[str, str]:
        """role -> the demo login that represents it (every role some demo user holds)."""
        found: dict[str, str] = {}
        for username, _, _ in self.logins:
            for role in self.roles.get(username, ()):
                found.setdefault(role, self.user_for_role(role))
        return found


# ------------------------------------------------------------ building once
def _pg_url(database: str) -> str:
    return sa.engine.make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


def _pg_admin() -> sa.Engine:
    return sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")


def _load(url: str, instance: Path) -> dict:
    from kehu.demo import load_demo
    from kehu.site import Site

    site = Site(url, real_packs(), instance, password_method=TEST_PASSWORD_METHOD)
    try:
        site.migrate()
        logins = load_demo(site, scale=DEMO_SCALE, seed=DEMO_SEED)
        users, user_roles = site.tables.users, site.tables.user_roles
        with site.reading() as conn:
            names = dict(conn.execute(sa.select(users.c.id, users.c.username)).all())
            admins = [u for (u,) in conn.execute(sa.select(users.c.username).where(users.c.is_admin.is_(True)))]
            roles: dict[str, list[str]] = {}
            for user_id, role in conn.execute(sa.select(user_roles.c.user_id, user_roles.c.role)
                                              .order_by(user_roles.c.user_id, user_roles.c.role)):
                roles.setdefault(names[user_id], []).append(role)
        if site.engine.dialect.name == "sqlite":
            with site.engine.connect() as conn:  # everything into the main file before it is copied
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        site.engine.dispose()
    return {"logins": [list(x) for x in logins], "roles": roles, "admins": admins}


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on ``path`` (xdist workers build the template one at a time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def template_name(run_id: str) -> str:
    return f"kehu_demo_{run_id}"[:60]


def build_template(shared_dir: Path, run_id: str) -> DemoTemplate:
    """Load the demo once for this test run into ``shared_dir`` (a folder every xdist worker
    of the run sees) and return it; a second caller in the same run reuses the first's."""
    shared_dir.mkdir(parents=True, exist_ok=True)
    kind = "postgresql" if PG_URL else "sqlite"
    marker = shared_dir / f"demo-{kind}.json"
    with _locked(shared_dir / f"demo-{kind}.lock"):
        if not marker.exists():
            if kind == "sqlite":
                source = str(shared_dir / "demo-template.db")
                info = _load(f"sqlite:///{source}", shared_dir / "demo-instance")
            else:
                source = template_name(run_id)
                admin = _pg_admin()
                try:
                    with admin.connect() as conn:
                        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{source}"')
                        conn.exec_driver_sql(f'CREATE DATABASE "{source}"')
                finally:
                    admin.dispose()
                info = _load(_pg_url(source), shared_dir / "demo-instance")
            marker.write_text(json.dumps({**info, "source": source}), encoding="utf-8")
    info = json.loads(marker.read_text(encoding="utf-8"))
    return DemoTemplate(kind, info["source"], tuple(tuple(x) for x in info["logins"]),
                        {u: tuple(r) for u, r in info["roles"].items()}, tuple(info["admins"]))


def drop_template(template: DemoTemplate) -> None:
    """Drop a PostgreSQL template database (a SQLite template is a file in pytest's temp)."""
    if template.kind != "postgresql":
        return
    admin = _pg_admin()
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{template.source}" WITH (FORCE)')
    finally:
        admin.dispose()


def drop_templates_in(shared_dir: Path) -> None:
    """Drop the PostgreSQL template built under ``shared_dir`` by this run's workers, if any."""
    marker = Path(shared_dir) / "demo-postgresql.json"
    if PG_URL and marker.exists():
        drop_template(DemoTemplate("postgresql", json.loads(marker.read_text(encoding="utf-8"))["source"], ()))


# ------------------------------------------------------------- a copy per test
@contextlib.contextmanager
def demo_copy(template: DemoTemplate, folder: Path):
    """A database URL holding a fresh copy of the demo, removed afterwards."""
    if template.kind == "sqlite":
        target = folder / "demo.db"
        shutil.copyfile(template.source, target)
        yield f"sqlite:///{target}"
        return
    name = f"kehu_t_{uuid.uuid4().hex[:16]}"
    admin = _pg_admin()
    try:
        with admin.connect() as conn:
            for attempt in range(50):  # the template must have no other session at that moment
                try:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template.source}"')
                    break
                except sa.exc.OperationalError:
                    if attempt == 49:
                        raise
                    time.sleep(0.1)
        yield _pg_url(name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class Demo:
    """A fresh copy of the demo with an app over it (the ``demo`` fixture)."""

    def __init__(self, template: DemoTemplate, app):
        self.template = template
        self.app = app
        self.site = app.extensions["kehu"]

    def client(self, username: str = "admin", lang: str | None = "zh") -> Client:
        """A test client signed in as the demo user ``username``."""
        return sign_in(self.app, self.template, username, lang)

    def service(self, username: str = "admin", lang: str = "zh"):
        """The record service acting for ``username`` (to arrange data or check results)."""
        users = self.site.tables.users
        with self.site.reading() as conn:
            user_id = conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar_one()
        return self.site.records(self.site.actor(self.site.user(user_id)), lang)


def demo_settings(url: str, folder: Path) -> dict:
    """``create_app`` settings for a demo copy (the real base pack and plugins)."""
    return {"DATABASE_URL": url, "INSTANCE_PATH": str(folder / "instance"), "SECRET_KEY": "demo-test",
            "PASSWORD_HASH_METHOD": TEST_PASSWORD_METHOD}


def sign_in(app, template: DemoTemplate, username: str, lang: str | None = "zh") -> Client:
    """A Flask test client signed in as the demo user ``username`` (language ``lang``)."""
    client = Client(app.test_client())
    response = client.login(username, template.password(username), lang=lang)
    assert response.status_code == 302, f"{username} could not sign in ({response.status_code})"
    return client


@contextlib.contextmanager
def serve(app):
    """Serve ``app`` on a free local port in a thread; yields the base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
