"""Nothing lost under concurrency, over real HTTP: ``gunicorn -w 2 'kehu:create_app()'`` on a
free port, over a file SQLite database or a PostgreSQL schema of the test's own, and real
requests released together from threads (two workers, so two processes race).

Races: the owner's edit against an administrator's assign, bulk assign and delete; an
administrator's edit against the approver's decision; a create form sent twice at once.
After each round the database must show what a user relies on: every change that was
answered as saved is there, each row version was written by one change only, the losers
were refused (409, or 403/404 when the winner took the record out of their reach), and one
create form made one record.
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from kehu_testing import Soup, fresh_database, make_site, real_packs

PASSWORD = "pw-secret-123"
ROUNDS = 6


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A signed-in user over HTTP: cookies, the CSRF token of their session, no redirects followed."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  NoRedirect())
        self.token = None

    def request(self, path: str, data: dict | None = None) -> tuple[int, dict, str]:
        body = None
        if data is not None:
            body = urllib.parse.urlencode({**data, "csrf_token": self.token}, doseq=True).encode()
        try:
            with self.opener.open(urllib.request.Request(self.base + path, data=body), timeout=120) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, dict(exc.headers), exc.read().decode()

    def page(self, path: str) -> Soup:
        status, _headers, html = self.request(path)
        assert status == 200, (path, status)
        return Soup(html)

    def login(self, username: str, password: str = PASSWORD) -> "Browser":
        self.token = self.page("/-/login")["input[name=csrf_token]"][0]["value"]
        status, headers, _ = self.request("/-/login", {"username": username, "password": password})
        assert status == 302, (username, status)
        self.token = self.page("/")["input[name=csrf_token]"][0]["value"]
        return self


def together(*calls):
    """Run ``calls`` in threads released at one moment; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait(timeout=60)
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert all(r is not None for r in results), "a request did not finish"
    return results


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base URL, site, user ids): the real packs, a small sales organisation, and gunicorn
    with two workers serving them (started once for the module's tests)."""
    tmp_path = tmp_path_factory.mktemp("workers")
    with fresh_database(tmp_path) as db_url:
        yield from _serve(db_url, tmp_path)


def _serve(db_url, tmp_path):
    site = make_site(db_url, tmp_path, packs=real_packs())
    ids = {"admin": site.create_user("admin", PASSWORD, "Admin", is_admin=True, locale="en")}
    d = site.tables.departments
    now = dt.datetime.now().replace(microsecond=0)
    with site.writing() as c:
        sales = c.execute(sa.insert(d).values(name="销售部", name_en="Sales", code="sales", created_at=now)
                          .returning(d.c.id)).scalar_one()
    for username, roles in (("mgr", ["sales_manager"]), ("rep", ["sales_rep"]), ("colin", ["sales_rep"])):
        ids[username] = site.create_user(username, PASSWORD, username.title(), roles=roles, department_id=sales,
                                         locale="en")
    with site.writing() as c:
        c.execute(sa.update(d).where(d.c.id == sales).values(manager_id=ids["mgr"]))
    port = _free_port()
    env = dict(os.environ, KEHU_DATABASE_URL=db_url, KEHU_INSTANCE_PATH=str(tmp_path / "instance"),
               KEHU_SECRET_KEY="workers-test-secret")
    env.pop("KEHU_PACKS", None)
    log = open(tmp_path / "gunicorn.log", "w")
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--timeout", "120", "kehu:create_app()"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # both workers load the packs; wait until one answers
            if server.poll() is not None:
                break
            try:
                with urllib.request.urlopen(base + "/-/login", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
        yield base, site, ids
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        site.engine.dispose()


# ------------------------------------------------------------------ helpers
def service(site, user_id):
    return site.records(site.actor(site.user(user_id)), "en")


def row(site, entity, rid) -> dict:
    table = site.tables[entity]
    with site.reading() as c:
        return dict(c.execute(sa.select(table).where(table.c.id == rid)).mappings().one())


def writers_by_version(site, entity, rid) -> dict[int, set]:
    hist = site.tables.history
    with site.reading() as c:
        rows = c.execute(sa.select(hist.c.row_version, hist.c.user_id, hist.c.action)
                         .where(hist.c.entity == entity, hist.c.record_id == rid)).all()
    out: dict[int, set] = {}
    for version, user_id, action in rows:
        out.setdefault(version, set()).add((user_id, action))
    return out


def check_round(site, entity, rid, answers, expect_writes):
    """Every write answered as done (303/204) is one version of its own; no version has two
    writers; the record's version counts exactly the writes that were answered as done."""
    done = [a for a in answers if a[0] in (303, 204)]
    refused = [a for a in answers if a[0] not in (303, 204)]
    assert all(status in (409, 404, 403) for status, *_ in refused), [a[0] for a in answers]
    assert done, "every write was refused"
    by_version = writers_by_version(site, entity, rid)
    assert all(len(who) == 1 for who in by_version.values()), by_version
    assert row(site, entity, rid)["row_version"] == 1 + expect_writes(len(done))


def edit_form(browser, entity, rid) -> dict:
    page = browser.page(f"/app/{entity}/{rid}/edit")
    return {"row_version": page["input[name=row_version]"][0]["value"]}


# ------------------------------------------------------------------ races
def test_owner_edits_racing_admin_assign_bulk_assign_and_delete(served):
    base, site, ids = served
    rep, admin = Browser(base).login("rep"), Browser(base).login("admin")
    rep_svc = service(site, ids["rep"])
    for i in range(ROUNDS):
        customer = rep_svc.create("customer", {"name": f"Race customer {i}"})["id"]
        other = rep_svc.create("customer", {"name": f"Race neighbour {i}"})["id"]
        form = edit_form(rep, "customer", customer)
        admin_write = [
            lambda: admin.request(f"/app/customer/{customer}/assign", {"owner": str(ids["colin"])}),
            lambda: admin.request("/app/customer/-/assign", {"ids": [customer, other], "owner": str(ids["colin"])}),
            lambda: admin.request(f"/app/customer/{customer}/delete", {}),
        ][i % 3]
        answers = together(
            lambda: rep.request(f"/app/customer/{customer}/edit",
                                {**form, "name": f"Race customer {i}", "phone": f"1380000{i:04d}", "_action": "save_close"}),
            admin_write)
        check_round(site, "customer", customer, answers, lambda n: n)
        final = row(site, "customer", customer)
        edit_landed = answers[0][0] == 303
        assert (final["phone"] == f"1380000{i:04d}") == edit_landed  # a saved edit is never lost


def test_admin_edit_racing_the_approvers_decision(served):
    base, site, ids = served
    rep_svc = service(site, ids["rep"])
    mgr, admin = Browser(base).login("mgr"), Browser(base).login("admin")
    customer = rep_svc.create("customer", {"name": "Quote customer"})["id"]
    for i in range(ROUNDS):
        quote = rep_svc.create("quote", {"subject": f"Racing quote {i}", "customer": customer,
                                         "quote_date": dt.date.today(), "status": "draft", "discount_percent": 15})["id"]
        rep_svc.approvals.submit("quote", quote)
        task = next(t.id for t in rep_svc.approvals.current("quote", quote)["tasks"] if t.state == "pending")
        form = edit_form(admin, "quote", quote)
        answers = together(
            lambda: admin.request(f"/app/quote/{quote}/edit", {**form, "subject": f"Racing quote {i} (admin)",
                                                                "_action": "save_close"}),
            lambda: mgr.request(f"/-/approvals/tasks/{task}/approve", {"origin": "inbox"}))
        decided = rep_svc.approvals.current("quote", quote)
        approved = decided["state"] == "approved"
        # the decision answers 303 either way (refused ones with the reason on the page): read the outcome
        admin_saved = answers[0][0] == 303
        writes = int(admin_saved) + int(approved)
        assert writes >= 1
        by_version = writers_by_version(site, "quote", quote)
        assert all(len(who) == 1 for who in by_version.values()), by_version
        final = row(site, "quote", quote)
        assert final["row_version"] == 3 + writes  # created 1, submitted +2 (state, on_submit)
        assert (final["subject"] == f"Racing quote {i} (admin)") == admin_saved
        assert (final["status"] == "approved") == approved and (final["workflow_state"] == "approved") == approved
        if not approved:
            assert [t.state for t in decided["tasks"]] == ["pending"]  # nothing of the refused decision


def test_a_create_form_sent_twice_at_once_makes_one_record(served):
    base, site, ids = served
    rep = Browser(base).login("rep")
    table = site.tables["customer"]
    for i in range(ROUNDS):
        page = rep.page("/app/customer/new")
        token = page["input[name=form_token]"][0]["value"]
        data = {"name": f"Double click {i}", "form_token": token, "_action": "save_close"}
        answers = together(lambda: rep.request("/app/customer/new", data), lambda: rep.request("/app/customer/new", data))
        assert [a[0] for a in answers] == [303, 303], [a[0] for a in answers]
        assert answers[0][1]["Location"] == answers[1][1]["Location"]
        with site.reading() as c:
            made = c.execute(sa.select(table.c.id).where(table.c.name == f"Double click {i}")).scalars().all()
        assert len(made) == 1 and answers[0][1]["Location"].endswith(f"/app/customer/{made[0]}")
