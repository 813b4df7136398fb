"""Fixtures: a fresh site or app per test, from a small fixture pack or the real packs.

The database comes from KEHU_TEST_DATABASE_URL (SQLite in tmp_path when unset). On
PostgreSQL every test gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import pytest

from kehu import create_app
from kehu_testing import FIXTURE_PACK, REPO, Client, fresh_database, make_site, real_packs, soup  # noqa: F401  (re-exported)


@pytest.fixture
def db_url(tmp_path):
    """SQLite in tmp_path, or a PostgreSQL schema of the test's own (KEHU_TEST_DATABASE_URL)."""
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture
def site(db_url, tmp_path):
    site = make_site(db_url, tmp_path)
    yield site
    site.engine.dispose()


@pytest.fixture
def admin_id(site):
    return site.create_user("admin", "secret-pw", "管理员", is_admin=True, locale="en")


@pytest.fixture
def svc(site, admin_id):
    return site.records(site.actor(site.user(admin_id)), "en")


@pytest.fixture
def app(db_url, tmp_path):
    app = create_app({
        "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "test-secret",
        "BASE_PACK": FIXTURE_PACK, "PLUGINS_DIR": None,
    })
    site = app.extensions["kehu"]
    site.migrate()
    site.create_user("admin", "secret-pw", "管理员", is_admin=True, locale="en")
    yield app
    site.engine.dispose()


@pytest.fixture
def real_app(db_url, tmp_path):
    """The app over the real base pack and plugins (customer, quote, ...)."""
    app = create_app({"DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "test-secret"})
    site = app.extensions["kehu"]
    site.migrate()
    site.create_user("admin", "secret-pw", "管理员", is_admin=True, locale="en")
    yield app
    site.engine.dispose()


@pytest.fixture
def client(app):
    return Client(app.test_client())


@pytest.fixture
def real_client(real_app):
    return Client(real_app.test_client())


