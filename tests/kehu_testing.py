"""Test helpers: a test client that signs in and carries CSRF tokens, and HTML parsing."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup

from kehu.metadata.loader import base_pack_path, discover_packs
from kehu.site import Site

FIXTURE_PACK = Path(__file__).parent / "fixture_pack"
REPO = base_pack_path()


def make_site(db_url, tmp_path, packs=None, migrate=True) -> Site:
    site = Site(db_url, packs or [FIXTURE_PACK], tmp_path)
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
