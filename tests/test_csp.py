"""A Content-Security-Policy without 'unsafe-inline' or 'unsafe-eval' on every response, and
pages that need neither: no inline <script>, no on…= handlers, no hx-on, no style="…"."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from kehu_testing import REPO, soup

TEMPLATES = Path(str(resources.files("kehu"))) / "web" / "templates"
EXPECTED = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'self'")


def test_every_kind_of_response_carries_the_policy(client, app):
    assert client.get("/-/login").headers["Content-Security-Policy"] == EXPECTED
    client.login()
    responses = {
        "page": client.get("/app/account/"),
        "htmx partial": client.get("/app/account/", headers={"HX-Request": "true"}),
        "not found": client.get("/app/nothing/"),
        "refused form": client.post_form("/app/account/new", {"name": ""}),
        "static file": client.get("/-/static/kehu.css"),
        "redirect": client.post_form("/-/lang", {"lang": "en", "next": "/"}),
        "csv export": client.post_form("/app/account/export.csv"),
    }
    for what, response in responses.items():
        assert response.headers.get("Content-Security-Policy") == EXPECTED, what
        assert "unsafe" not in response.headers["Content-Security-Policy"], what
        response.close()


def test_htmx_runs_without_eval_and_without_inline_styles(client):
    page = soup(client.get("/-/login"))
    config = json.loads(page["meta[name=htmx-config]"][0]["content"])
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False
    assert config["allowScriptTags"] is False


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"\s(on[a-z]+)\s*=", re.I), "on… event handler"),
    (re.compile(r"\shx-on(?:[:\-][\w:-]*)?\s*=", re.I), "hx-on"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<style[\s>]", re.I), "<style> element"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def _template_files():
    roots = [TEMPLATES] + [p for p in (REPO / "plugins").glob("*/templates") if p.is_dir()]
    return sorted(f for root in roots for f in root.rglob("*.html"))


def test_no_template_needs_unsafe_inline():
    """The policy would block these in the browser, so none may exist (checked on the
    template sources: every page, including those no test opens)."""
    found = []
    for path in _template_files():
        text = path.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(path.parents[2])}:{line}: {what}")
    assert len(_template_files()) > 30  # the scan itself works
    assert found == []


PAGES = ["/", "/app/customer/", "/app/customer/new", "/app/quote/new", "/app/customer/1", "/app/customer/1/edit",
         "/-/approvals", "/-/delegation", "/-/admin/users", "/-/admin/departments", "/-/admin/transfer", "/-/admin/audit",
         "/-/admin/workflows", "/-/team"]


def test_rendered_pages_have_no_inline_script_style_or_handlers(real_client, real_app):
    site = real_app.extensions["kehu"]
    admin = site.records(site.actor(site.authenticate("admin", "secret-pw")), "en")
    admin.create("customer", {"name": "陕西华信集团有限公司"})
    real_client.login()
    for url in PAGES:
        response = real_client.get(url)
        assert response.status_code == 200, url
        page = soup(response)
        for tag in page.doc.find_all(True):
            assert "style" not in tag.attrs, (url, str(tag)[:120])
            assert not [a for a in tag.attrs if a.startswith("on") or a.startswith("hx-on")], (url, str(tag)[:120])
            if tag.name == "script":
                assert tag.get("src") and not tag.get_text(strip=True), (url, str(tag)[:120])
        assert not page["style"], url
