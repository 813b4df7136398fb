"""Fixtures: a fresh site or app per test, from a small fixture pack or the real packs.

The database comes from KEHU_TEST_DATABASE_URL (SQLite in tmp_path when unset). On
PostgreSQL every test gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid

import pytest

from kehu import create_app
from kehu_testing import (FIXTURE_PACK, REPO, TEST_PASSWORD_METHOD, Client, fresh_database, make_site,  # noqa: F401
                          real_packs, soup)

# every app a test builds hashes passwords cheaply, through the setting a deployment would use
os.environ.setdefault("KEHU_PASSWORD_HASH_METHOD", TEST_PASSWORD_METHOD)


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




# ------------------------------------------------------------------ demo data
# The demo organisation, loaded once per session (per xdist worker run), a fresh copy per test:
# see tests/kehu_demo.py and tests/README.md.
def _shared_dir(tmp_path_factory):
    """A folder every xdist worker of this run sees (the controller's base temp)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    import kehu_demo

    shared = _shared_dir(tmp_path_factory)
    template = kehu_demo.build_template(shared, os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex[:12])
    yield template
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        kehu_demo.drop_template(template)


def pytest_sessionfinish(session):
    """Under xdist the controller drops the run's PostgreSQL demo template once workers are done."""
    if session.config.pluginmanager.getplugin("dsession") is None:
        return  # not an xdist controller: the demo_template fixture cleans up after itself
    import kehu_demo

    kehu_demo.drop_templates_in(session.config._tmp_path_factory.getbasetemp())


@pytest.fixture
def demo(demo_template, tmp_path):
    """A fresh copy of the demo data with an app over it: ``demo.app``, ``demo.site``,
    ``demo.client(username)`` (signed in), ``demo.service(username)``, ``demo.template``."""
    import kehu_demo

    with kehu_demo.demo_copy(demo_template, tmp_path) as url:
        app = create_app(kehu_demo.demo_settings(url, tmp_path))
        try:
            yield kehu_demo.Demo(demo_template, app)
        finally:
            app.extensions["kehu"].engine.dispose()


@pytest.fixture
def demo_live(demo):
    """``demo`` served on a free local port: (base URL, demo) for Playwright."""
    import kehu_demo

    with kehu_demo.serve(demo.app) as base:
        yield base, demo


def pytest_terminal_summary(terminalreporter):
    """The property tests' figures (tests/journeys): fields typed per form, links checked per role."""
    forms, links = [], []
    for report in [r for key in ("passed", "failed", "xfailed") for r in terminalreporter.stats.get(key, [])]:
        props = dict(getattr(report, "user_properties", ()))
        if report.when != "call":
            continue
        if "form_fields" in props:
            forms.append((report.nodeid.split("[")[-1].rstrip("]"), props["form_fields"], props["form_types"]))
        if "links_checked" in props:
            links.append((props["links_role"], props["links_checked"], props.get("buttons_checked", 0)))
    if forms:
        types = sorted({t for _, _, ts in forms for t in ts.split(",") if t})
        terminalreporter.write_sep("-", "form round trips")
        terminalreporter.write_line(f"{len(forms)} forms (entity x signed-in role), {sum(n for _, n, _ in forms)} "
                                    f"fields typed and read back, {len(types)} field types: {', '.join(types)}")
    if links:
        terminalreporter.write_sep("-", "links and buttons")
        for role, checked, buttons in sorted(links):
            terminalreporter.write_line(f"{role}: {checked} links, {buttons} kinds of button")
