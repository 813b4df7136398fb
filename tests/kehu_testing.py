"""Test helpers: a test client that signs in and carries CSRF tokens, and HTML parsing."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import sqlalchemy as sa

from bs4 import BeautifulSoup

from kehu.metadata.loader import base_pack_path, discover_packs
from kehu.site import Site

FIXTURE_PACK = Path(__file__).parent / "fixture_pack"
REPO = base_pack_path()
PG_URL = os.environ.get("KEHU_TEST_DATABASE_URL")
# Tests hash passwords cheaply through the site setting every deployment has (the default,
# scrypt, costs ~0.1-0.3 s per sign-in on these machines; the suite signs in thousands of times).
TEST_PASSWORD_METHOD = "pbkdf2:sha256:1000"


@contextlib.contextmanager
def fresh_database(folder):
    """A database URL of its own: SQLite in ``folder``, or a new PostgreSQL schema."""
    if not PG_URL:
        yield f"sqlite:///{folder}/kehu.db"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.schema.CreateSchema(schema))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.schema.DropSchema(schema, cascade=True))
        admin.dispose()


def make_site(db_url, tmp_path, packs=None, migrate=True) -> Site:
    site = Site(db_url, packs or [FIXTURE_PACK], tmp_path, password_method=TEST_PASSWORD_METHOD)
    if migrate:
        site.migrate()
    return site


def real_packs():
    return discover_packs(REPO, REPO / "plugins")


class Client:
    """Flask's test client plus sign-in and CSRF tokens read from the pages themselves."""

    def __init__(self, flask_client):
        self.c = flask_client
        self.token = None

    def __getattr__(self, name):
        return getattr(self.c, name)

    def csrf(self) -> str:
        if self.token is None:
            page = self.c.get("/-/login")
            self.token = soup(page)["input[name=csrf_token]"][0]["value"]
        return self.token

    def login(self, username="admin", password="secret-pw", lang="en"):
        response = self.c.post("/-/login", data={"username": username, "password": password, "csrf_token": self.csrf()})
        self.token = None
        if lang:
            self.c.post("/-/lang", data={"lang": lang, "csrf_token": self.csrf(), "next": "/"})
        return response

    def post_form(self, url, data=None, htmx=False, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf())
        headers = kwargs.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
        return self.c.post(url, data=data, headers=headers, **kwargs)


class Soup:
    def __init__(self, html: str):
        self.doc = BeautifulSoup(html, "html.parser")

    def __getitem__(self, selector):
        return self.doc.select(selector)

    def text(self, selector) -> str:
        found = self.doc.select_one(selector)
        return found.get_text(" ", strip=True) if found else ""


def soup(response) -> Soup:
    return Soup(response.get_data(as_text=True))


def browser_sign_in(page, base: str, username: str, password: str) -> None:
    """Sign in through the login form in a browser page (Playwright), from a clean session."""
    from playwright.sync_api import expect

    page.context.clear_cookies()
    page.goto(base + "/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button.primary")
    expect(page.locator("header.topbar")).to_be_visible()


def write(root: Path, rel: str, text: str) -> Path:
    """Write a YAML document (dedented) at ``root/rel`` and return its path."""
    import textwrap

    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    """The 1-based line of the ``nth`` line of ``path`` that contains ``needle``."""
    hits = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    assert len(hits) >= nth, f"{needle!r} is not in {path}"
    return hits[nth - 1]
