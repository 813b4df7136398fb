"""Property: for every role of the demo organisation, every link and button the pages offer works.

Signed in as one demo user per role, a bounded breadth-first walk starts at the workbench
and follows same-site links: menus, lists (sorting, paging, filters), detail and edit pages,
related lists, approvals, the team page, the system pages for administrators. Every link
found on a page walked is requested once (GET) and must answer 2xx — a link that leads to
403, 404 or an error page is a link the UI should not have offered. Forms that GET (filters)
are links too. Buttons that POST are collected by kind (their route pattern) and each kind is
pressed once at the end, on this test's copy of the demo, from the page as it is then (its
CSRF token, its row versions), after filling in what a person must give: it must answer
2xx/3xx and not refuse. A record form (New, Edit) is saved as it opens: a 422 for a missing
value is its answer, a 403 means Save was offered to someone who may not save. Sign-out and
the language switch are left alone.

The walk is bounded: at most ``CHECK`` distinct links of one pattern are requested and
``EXPAND`` pages of one pattern are walked (a few detail pages per entity), so the test
stays cheap while it still sees every kind of page the role can reach.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import parse_qsl, urldefrag, urlencode, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup

from kehu_forms import HtmlForm
from kehu.metadata.loader import load_metadata
from kehu.plugins import field_type_registry, make_plugin_manager
from kehu_testing import real_packs

CHECK = 6      # distinct URLs of one pattern that are requested
EXPAND = 3     # pages of one pattern whose own links are followed
BUDGET = 900   # requests per role at most (a safety net; the patterns bound the walk first)
SKIP_PATHS = ("/-/logout", "/-/lang", "/-/static/", "/-/login")
ROLES = sorted(load_metadata(real_packs(), field_type_registry(make_plugin_manager())).roles)


def pattern(url: str) -> str:
    """The route a URL belongs to: numbers in the path become {id}; query keys, not values."""
    parts = urlsplit(url)
    path = re.sub(r"/\d+(?=/|$)", "/{id}", parts.path)
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return path + ("?" + "&".join(keys) if keys else "")


class Walk:
    def __init__(self, sign_in, role: str, username: str, password: str):
        self.password = password
        self.sign_in = lambda: setattr(self, "client", sign_in())
        self.client = sign_in()
        self.signed_out: list[str] = []
        self.gone: list[str] = []
        self.role = role
        self.username = username
        self.checked: dict[str, int] = {}      # url -> status
        self.per_pattern: dict[str, int] = {}
        self.expanded: dict[str, int] = {}
        self.buttons: dict[str, tuple[str, HtmlForm, object]] = {}  # kind -> (page, form, submitter)
        self.bad: list[str] = []
        self.requests = 0

    # ------------------------------------------------------------- links
    def same_site(self, page: str, href: str | None) -> str | None:
        if not href or href.startswith(("mailto:", "tel:", "javascript:", "#")):
            return None
        url = urldefrag(urljoin("http://localhost" + page, href))[0]
        parts = urlsplit(url)
        if parts.netloc != "localhost" or parts.path.startswith(SKIP_PATHS):
            return None
        return parts.path + ("?" + parts.query if parts.query else "")

    def links_of(self, page: str, html: str) -> list[str]:
        doc = BeautifulSoup(html, "html.parser")
        found = []
        for a in doc.select("a[href]"):
            url = self.same_site(page, a["href"])
            if url:
                found.append(url)
        for el in doc.select("[hx-get]"):  # parts a page loads by itself (not type-ahead inputs)
            if el.name not in ("input", "select", "textarea", "span", "form") and not el.find_parent("form"):
                url = self.same_site(page, el["hx-get"])
                if url:
                    found.append(url)
        for form in doc.select("form"):
            html_form = HtmlForm(form, page)
            if html_form.method == "get":  # a filter form: its action with what it shows
                query = urlencode([(k, v) for k, v in html_form.entries() if isinstance(v, str) and v])
                url = self.same_site(page, html_form.action + ("?" + query if query else ""))
                if url:
                    found.append(url)
            else:
                self.collect_button(page, html_form)
        return found

    def collect_button(self, page: str, form: HtmlForm) -> None:
        """One button per kind: the route pattern of the form's action."""
        action = self.same_site(page, form.action)
        if action is None:
            return
        submitters = [b for b in form.form.find_all("button") if (b.get("type") or "submit") == "submit"]
        kind = pattern(urlsplit(action).path)
        self.buttons.setdefault(kind, (page, form, submitters[0] if submitters else None))

    def find_button(self, page: str, kind: str):
        response = self.client.get(page)
        if response.status_code != 200:
            return None, None
        for form in BeautifulSoup(response.get_data(as_text=True), "html.parser").select("form"):
            html_form = HtmlForm(form, page)
            action = self.same_site(page, html_form.action)
            if html_form.method == "post" and action and pattern(urlsplit(action).path) == kind:
                submitters = [b for b in form.find_all("button") if (b.get("type") or "submit") == "submit"]
                return html_form, submitters[0] if submitters else None
        return None, None

    def get(self, url: str, page: str):
        self.requests += 1
        response = self.client.get(url)
        status = response.status_code
        if 300 <= status < 400:
            target = self.same_site(url, response.headers.get("Location"))
            if target is None or target.startswith("/-/login"):
                self.bad.append(f"{self.role} ({self.username}): on {page}: link {url} -> {status} to {response.headers.get('Location')}")
                return None
            response = self.client.get(target)
            status = response.status_code
        response.get_data()  # read it whole, as a browser does (a streamed export runs to its end)
        self.checked[url] = status
        if not 200 <= status < 300:
            self.bad.append(f"{self.role} ({self.username}): on {page}: link {url} -> {status}")
            return None
        return response

    def walk(self) -> None:
        queue = deque([("/", "(start)")])
        while queue and self.requests < BUDGET:
            url, page = queue.popleft()
            response = self.get(url, page)
            if response is None or "text/html" not in response.content_type:
                continue
            key = pattern(url)
            if self.expanded.get(key, 0) >= EXPAND:
                continue
            self.expanded[key] = self.expanded.get(key, 0) + 1
            for link in self.links_of(url, response.get_data(as_text=True)):
                p = pattern(link)
                if link in self.checked or any(link == q for q, _ in queue) or self.per_pattern.get(p, 0) >= CHECK:
                    continue
                self.per_pattern[p] = self.per_pattern.get(p, 0) + 1
                queue.append((link, url))

    # ----------------------------------------------------------- buttons
    def press_buttons(self) -> int:
        """Press each kind of POST button once; deleting comes last (it changes other pages)."""
        kinds = sorted(self.buttons, key=lambda k: (press_order(k), k))
        for n, kind in enumerate(kinds):
            page, _form, _button = self.buttons[kind]
            form, button = self.find_button(page, kind)  # the page as it is now: fresh token and versions
            if form is None:  # an earlier button changed the page (the record was handed over, all read...)
                self.gone.append(kind)
                continue
            record_form = form.form.get("id") == "record-form"
            if not record_form:  # record forms are saved as they open: filling them is the round-trip test's
                fill_in(form, n, self.password)
            response = form.submit(self.client, button, htmx=form.form.has_attr("hx-post"))
            response.get_data()  # read it whole (a streamed export runs to its end)
            status = response.status_code
            # a form may be refused for what was typed into it (422: the form says what to
            # correct), never for who presses the button or for the state it offered it in
            refused = (status >= 400 and status != 422) or response.headers.get("Location", "").startswith("/-/login")
            if refused:
                reason = " ".join(BeautifulSoup(response.get_data(as_text=True), "html.parser").get_text(" ").split())[:160]
                self.bad.append(f"{self.role} ({self.username}): on {page}: button {kind} -> {status} {reason}")
            if self.client.get("/").status_code != 200:  # e.g. a new password for oneself ends the session
                self.signed_out.append(kind)
                self.sign_in()
        return len(kinds)


def press_order(kind: str) -> int:
    """Buttons that change only their record first; then those that hand records over or act
    on many; then revoking shares; deleting last (each can take other buttons away)."""
    if "/delete" in kind:
        return 3
    if "/unshare/" in kind:
        return 2
    if kind.endswith(("/assign", "/share", "/transfer", "/read-all")):
        return 1
    return 0


def fill_in(form: HtmlForm, n: int, password: str) -> None:
    """What a person gives before pressing the button: a choice in each empty list, text in
    each empty box (a reason, a name, a password: the demo's, so everyone can still sign
    in), and the first row ticked when the form acts on rows ticked in a list."""
    for el in form.controls():
        name, kind = el.get("name"), (el.get("type") or "text").lower()
        if not name or el.has_attr("disabled"):
            continue
        if el.name == "select" and not form.value(name) and form.options(name):
            form.choose(name, form.options(name)[0])
        elif el.name == "textarea" and not form.value(name):
            form.type(name, "同意，测试意见")
        elif el.name == "input" and not el.get("value"):
            value = {"text": f"test{n}", "search": f"test{n}", "email": f"test{n}@example.com", "password": password,
                     "number": "1", "date": "2026-03-16", "datetime-local": "2026-03-16T10:30", "tel": "029-88886666"}.get(kind)
            if value is not None:
                form.type(name, value)
    outside = [el for el in form.controls() if el.get("type") == "checkbox" and el.get("form") and not el.has_attr("disabled")]
    if outside and not any(el.has_attr("checked") for el in outside):
        outside[0]["checked"] = ""


@pytest.mark.parametrize("role", ROLES)
def test_every_link_and_button_a_role_is_offered_works(demo, role, record_property):
    username = demo.template.user_for_role(role)
    if username is None:
        pytest.skip(f"no demo user holds the role {role!r}, so no one signs in with it")
    walk = Walk(lambda: demo.client(username, lang="zh"), role, username, demo.template.password(username))
    walk.walk()
    buttons = walk.press_buttons()
    record_property("links_role", f"{role} ({username})")
    record_property("links_checked", len(walk.checked))
    record_property("buttons_checked", buttons - len(walk.gone))
    assert not walk.bad, f"{len(walk.bad)} of {len(walk.checked)} links and {buttons} kinds of button failed:\n  " + \
        "\n  ".join(walk.bad)
