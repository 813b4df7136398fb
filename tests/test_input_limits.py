"""Bad input gets a clear message, never a 500: numbers and ids beyond their column, control
characters, text longer than its column, unsafe redirect targets. Every test runs on SQLite
and, with KEHU_TEST_DATABASE_URL, on PostgreSQL (which refuses NUL and INTEGER overflow in
the database itself: those were 500s)."""

from __future__ import annotations

import pytest
from flask import Flask

from kehu.errors import RecordInvalid
from kehu.web.auth import safe_next
from kehu_testing import Client, soup

BIG = "99999999999999999999"  # 10^20: beyond INTEGER, BIGINT and NUMERIC(18, 2)
INT32_PLUS_ONE = str(2**31)


def invalid(call, *args, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(RecordInvalid) as info:
        call(*args, **kwargs)
    return info.value.errors


def form_errors(response) -> dict[str, str]:
    """The messages a re-displayed form shows, by field (the .errors element of each field)."""
    page = soup(response)
    out = {}
    for box in page["[id^=err-]"]:
        text = box.get_text(" ", strip=True)
        if text:
            out[box["id"][len("err-"):]] = text
    for item in page[".alert.error li, .alert.error p"]:
        out.setdefault("_top", "")
        out["_top"] += item.get_text(" ", strip=True)
    return out


@pytest.fixture
def admin(client):
    client.login()
    return client


def app_service(app):
    site = app.extensions["kehu"]
    return site.records(site.actor(site.authenticate("admin", "secret-pw")), "en")


@pytest.fixture
def account(app):
    return app_service(app).create("account", {"name": "Acme"})


# ------------------------------------------------------------------ ids in URLs
def test_record_ids_beyond_an_integer_are_not_found(admin, account):
    missing = admin.get("/app/account/999999")  # an id that fits but does not exist
    assert missing.status_code == 404
    for rid in (INT32_PLUS_ONE, BIG, "9" * 400):
        for url in (f"/app/account/{rid}", f"/app/account/{rid}/edit", f"/app/account/{rid}/explain"):
            response = admin.get(url)
            assert response.status_code == 404, url
            assert soup(response).text("h1") == soup(missing).text("h1")  # "not found", as for any missing id
        assert admin.post_form(f"/app/account/{rid}/delete").status_code == 404
        assert admin.post_form(f"/app/account/{rid}/edit", {"name": "x", "row_version": "1"}).status_code == 404


def test_admin_pages_and_actions_with_ids_beyond_an_integer_are_not_found(admin):
    for url in (f"/-/admin/users/{INT32_PLUS_ONE}", f"/-/admin/departments/{BIG}", f"/-/admin/teams/{BIG}"):
        assert admin.get(url).status_code == 404, url
    for url in (f"/-/approvals/tasks/{BIG}/approve", f"/-/approvals/tasks/{INT32_PLUS_ONE}/reject",
                f"/-/approvals/{BIG}/recall", f"/-/approvals/tasks/{BIG}/reassign", f"/-/notifications/{BIG}/read",
                f"/-/delegation/{BIG}/end", f"/app/account/{BIG}/-/submit", f"/-/favourites/account/{BIG}"):
        assert admin.post_form(url, {"comment": "ok"}).status_code == 404, url


def test_ids_beyond_an_integer_in_forms_name_no_record(admin, account, app):
    # assign to, and bulk-assign, a user id that cannot exist
    response = admin.post_form(f"/app/account/{account['id']}/assign", {"owner": BIG})
    assert response.status_code == 422
    response = admin.post_form("/app/account/-/assign", {"owner": "1", "ids": [str(account["id"]), BIG]})
    assert response.status_code == 422
    assert "Tick the records to assign first." in soup(response).text("#bulk-error")
    # a row version that no record can carry is a missing version, not a crash
    response = admin.post_form(f"/app/account/{account['id']}/edit", {"name": "Acme 2", "row_version": BIG})
    assert response.status_code == 422
    # the form helpers of an edit page
    assert admin.post_form(f"/app/account/-/validate/name?id={BIG}", {"name": "x"}).status_code == 200
    assert admin.post_form(f"/app/account/-/compute?id={BIG}", {"name": "x"}).status_code == 200


# --------------------------------------------------------------- list filters
FILTERS = [
    (f"f.id.eq={BIG}", "ID: Must be at most 2,147,483,647."),
    ("f.id.eq=9e20", "ID: Enter a whole number."),
    (f"f.employees.gte={BIG}", "Employees: Must be at most 1,000,000."),
    (f"f.parent.eq={BIG}", "Parent: Choose a record from the list."),
    ("f.revenue.gte=1e400", "Revenue: Must be at most 9,999,999,999,999,999.99."),
    (f"f.revenue.lte=-{BIG}", "Revenue: Must be at least 0."),
    (f"f.ratio.lte=-{BIG}", "Ratio: Must be at least -999,999,999,999,999.999."),
    ("f.revenue.gte=NaN", "Revenue: Enter a number."),
    ("f.ratio.gte=Infinity", "Ratio: Enter a number."),
    ("f.name.contains=a%00b", "Name: Remove the control character U+0000"),
    ("f.tier.eq=a%00", "Tier: Remove the control character U+0000"),  # a picklist key
    ("f.code.starts=AC%00", "Code: Remove the control character U+0000"),  # an autonumber
    ("f.code.eq=" + "C" * 65, "Code: Enter at most 64 characters (this has 65)."),
    ("f.name.starts=" + "x" * 101, "Name: Enter at most 100 characters (this has 101)."),
    ("q=a%00b", "Search: Remove the control character U+0000"),
    ("q=a%1Bb", "Search: Remove the control character U+001B"),
    ("q=" + "x" * 201, "Search: Enter at most 200 characters (this has 201)."),
]


def test_filters_beyond_their_column_are_refused_with_a_message(admin, account):
    for args, message in FILTERS:
        response = admin.get(f"/app/account/?{args}")
        assert response.status_code == 200, args
        assert message in soup(response).text("#list .alert.error"), args
        # the refused filter is not applied: the list still shows the record
        assert "Acme" in soup(response).text("#list table"), args
    for args in (f"page={BIG}", f"per_page={BIG}", "page=" + "9" * 5000, "page=-5"):
        assert admin.get(f"/app/account/?{args}").status_code == 200, args


def test_type_ahead_with_a_control_character_is_refused(admin, account):
    response = admin.get("/app/account/-/lookup/parent?q=Ac%00")
    assert response.status_code == 400
    assert "Remove the control character U+0000" in response.get_data(as_text=True)
    response = admin.get("/app/account/-/lookup/owner_user?q=ad%00")
    assert response.status_code == 400
    assert [b.get_text() for b in soup(admin.get("/app/account/-/lookup/parent?q=Ac"))["button"]] == ["Acme"]


# ---------------------------------------------------------------------- forms
FORM_VALUES = [
    ({"revenue": BIG}, "revenue", "Must be at most 9,999,999,999,999,999.99."),
    ({"revenue": "1e400"}, "revenue", "Must be at most 9,999,999,999,999,999.99."),
    ({"ratio": f"-{BIG}"}, "ratio", "Must be at least -999,999,999,999,999.999."),
    ({"ratio": "NaN"}, "ratio", "Enter a number."),
    ({"discount": "Infinity"}, "discount", "Enter a number."),
    ({"parent": BIG}, "parent", "Choose a record from the list."),
    ({"owner_user": BIG}, "owner_user", "Choose a record from the list."),
    ({"name": "Ac\x00me"}, "name", "Remove the control character U+0000 (NULL); it cannot be stored."),
    ({"status": "tab\there"}, "status", "Remove the control character U+0009 (TAB); it cannot be stored."),
    ({"email": "a\x00@example.com"}, "email", "Enter a valid e-mail address."),
    ({"website": "https://example.com/\x00"}, "website", "Remove the control character U+0000 (NULL); it cannot be stored."),
    ({"notes": "one\x00two"}, "notes", "Remove the control character U+0000 (NULL); it cannot be stored."),
    ({"profile": "<p>x\x1b[31m</p>"}, "profile", "Remove the control character U+001B (ESCAPE); it cannot be stored."),
]


def test_form_values_beyond_their_column_are_refused_at_the_field(admin):
    for data, field, message in FORM_VALUES:
        response = admin.post_form("/app/account/new", {"name": "Acme", **data})
        assert response.status_code == 422, data
        assert message in form_errors(response).get(field, ""), (data, form_errors(response))
    assert "Acme" not in soup(admin.get("/app/account/")).text("#list")  # nothing was saved


def test_multi_line_text_keeps_tabs_and_line_breaks(admin, app):
    response = admin.post_form("/app/account/new", {"name": "Acme", "notes": "line one\r\n\tindented"})
    assert response.status_code == 303
    assert app_service(app).get("account", 1)["notes"] == "line one\r\n\tindented"


def test_child_lines_are_checked_like_the_record(admin, app):
    svc = app_service(app)
    lines = {"lines__present": "1",
             "lines-0-item": "x\x00y", "lines-0-quantity": "1", "lines-0-price": "1",
             "lines-1-item": "ok", "lines-1-quantity": BIG, "lines-1-price": "1",
             "lines-2-item": "i" * 256, "lines-2-quantity": "1", "lines-2-price": "1"}
    assert admin.post_form("/app/account/new", {"name": "Acme", **lines}).status_code == 422
    errors = invalid(svc.create, "account", {"name": "Acme", "lines": [
        {"item": "x\x00y", "quantity": "1"}, {"item": "ok", "quantity": BIG}, {"item": "i" * 256}]})
    assert errors == {"lines.0.item": ["Remove the control character U+0000 (NULL); it cannot be stored."],
                      "lines.1.quantity": ["Must be at most 9,999,999,999,999,999.99."],
                      "lines.2.item": ["Enter at most 255 characters."]}


def test_a_formula_that_overflows_its_column_is_refused_not_emptied(svc):
    # 10^15 × 10^15 = 10^30: each input fits, the computed amount cannot
    errors = invalid(svc.create, "account", {"name": "Acme", "lines": [
        {"item": "big", "quantity": "1000000000000000", "price": "1000000000000000"}]})
    assert errors["lines.0.amount"] == ["Must be at most 9,999,999,999,999,999.99."]
    assert svc.count("account") == 0


def test_service_refuses_an_integer_beyond_its_column(site, svc):
    # the visit's account is a lookup: an id that no INTEGER column can hold names no record
    assert invalid(svc.create, "visit", {"subject": "Call", "account": 2**31}) == {
        "account": ["Choose a record from the list."]}
    assert invalid(svc.create, "account", {"name": "Acme", "employees": 2**63}) == {
        "employees": ["Must be at most 1,000,000."]}


def test_service_refuses_a_search_with_a_control_character(svc):
    assert invalid(svc.search_lookup, "account", "Ac\x00") == {"q": ["Remove the control character U+0000 (NULL); it cannot be stored."]}


# --------------------------------------------------------- users, departments
ADMIN_FORMS = [
    ("/-/admin/users/new", {"username": "u\x00", "display_name": "U", "password": "password-1", "locale": "en"},
     "username", "Remove the control character U+0000"),
    ("/-/admin/users/new", {"username": "u" * 81, "display_name": "U", "password": "password-1", "locale": "en"},
     "username", "Enter at most 80 characters (this has 81)."),
    ("/-/admin/users/new", {"username": "u1", "display_name": "名\x07字", "password": "password-1", "locale": "en"},
     "display_name", "Remove the control character U+0007"),
    ("/-/admin/users/new", {"username": "u1", "display_name": "名" * 121, "password": "password-1", "locale": "en"},
     "display_name", "Enter at most 120 characters (this has 121)."),
    ("/-/admin/departments/new", {"name": "Sales\x00"}, "name", "Remove the control character U+0000"),
    ("/-/admin/departments/new", {"name": "S", "name_en": "x" * 121}, "name_en", "Enter at most 120 characters"),
    ("/-/admin/teams/new", {"name": "Team\x1b"}, "name", "Remove the control character U+001B"),
    ("/-/admin/teams/new", {"name": "t" * 121}, "name", "Enter at most 120 characters"),
]


def test_names_with_control_characters_or_too_long_are_refused(admin, app):
    for url, data, _field, message in ADMIN_FORMS:
        response = admin.post_form(url, data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    org = app.extensions["kehu"]
    with org.reading() as c:  # nothing was written
        assert [r.username for r in c.execute(org.tables.users.select())] == ["admin"]
        assert c.execute(org.tables.departments.select()).all() == c.execute(org.tables.teams.select()).all() == []


def test_editing_a_user_checks_the_name_too(admin, app):
    response = admin.post_form("/-/admin/users/1", {"display_name": "Ad\x00min", "locale": "en", "is_active": "1",
                                                    "is_admin": "1"})
    assert response.status_code == 422
    assert "Remove the control character U+0000" in response.get_data(as_text=True)
    assert app.extensions["kehu"].user(1)["display_name"] == "管理员"


def test_sign_in_with_a_control_character_in_the_name_is_refused(client):
    wrong = client.post_form("/-/login", {"username": "admin", "password": "wrong-pw"})
    response = client.post_form("/-/login", {"username": "admin\x00", "password": "secret-pw"})
    assert response.status_code == 401
    assert soup(response).text("main") == soup(wrong).text("main")  # as any wrong name or password


# --------------------------------------------------------------- redirects
@pytest.mark.parametrize("target", [
    "/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/\x00", "\t//evil.example",
    "//evil.example", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "evil.example",
    "/" + "a" * 3000, "", None,
])
def test_unsafe_redirect_targets_go_home(target):
    app = Flask("t")
    app.add_url_rule("/", "pages.home", lambda: "")
    with app.test_request_context("/"):
        assert safe_next(target) == "/"


@pytest.mark.parametrize("target", ["/app/account/?f.tier.eq=a&page=2", "/-/approvals", "/app/account/5"])
def test_local_redirect_targets_are_kept(target):
    app = Flask("t")
    app.add_url_rule("/", "pages.home", lambda: "")
    with app.test_request_context("/"):
        assert safe_next(target) == target


def test_language_switch_and_sign_in_never_follow_a_tab_out_of_the_site(client):
    response = client.post_form("/-/lang", {"lang": "en", "next": "/\t/evil.example"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    response = client.post_form("/-/login?next=/%09/evil.example", {"username": "admin", "password": "secret-pw"})
    assert response.status_code == 302 and response.headers["Location"] == "/"


# ---------------------------------------------------------- the last line
def test_a_value_the_database_refuses_is_a_message_not_a_500(app):
    """Should a check ever be missing, the database's refusal is answered with a message
    (and the transaction rolled back), never a 500 with a traceback."""
    import sqlalchemy as sa

    site = app.extensions["kehu"]

    @app.route("/-/test-overflow")
    def overflow():
        with site.writing() as c:
            c.execute(sa.insert(site.tables.teams).values(name="kept?", created_at=sa.func.now()))
            c.execute(sa.select(site.tables.users.c.id).where(site.tables.users.c.id == 2**70))
        return "no"

    client = Client(app.test_client())
    client.login()
    response = client.get("/-/test-overflow")
    assert response.status_code == 422
    assert "A value could not be stored" in soup(response).text("main")
    with site.reading() as c:
        assert c.execute(sa.select(site.tables.teams.c.id)).all() == []


# ---------------------------------------------------------------- approvals
def test_approval_comments_and_ids_beyond_their_columns_are_refused(real_app):
    import datetime as dt

    import sqlalchemy as sa

    from kehu.org import OrgService

    site = real_app.extensions["kehu"]
    admin = site.authenticate("admin", "secret-pw")
    org = OrgService(site, site.actor(admin), "en")
    sales = org.create_department("销售部", name_en="Sales")
    mgr = site.create_user("mgr", "pw-secret-123", "Mark Manager", roles=["sales_manager"], department_id=sales, locale="en")
    rep = site.create_user("rep", "pw-secret-123", "Rita Rep", roles=["sales_rep"], department_id=sales, locale="en")
    with site.writing() as c:
        c.execute(sa.update(site.tables.departments).values(manager_id=mgr))
    svc = site.records(site.actor(site.user(rep)), "en")
    customer = svc.create("customer", {"name": "Acme"})
    quote = svc.create("quote", {"subject": "Servers", "customer": customer["id"], "quote_date": dt.date.today(),
                                 "status": "draft", "discount_percent": 15})["id"]

    def client_of(username, password="pw-secret-123"):
        client = Client(real_app.test_client())
        client.login(username, password)
        return client

    rep_client, mgr_client = client_of("rep"), client_of("mgr")
    refused = rep_client.post_form(f"/app/quote/{quote}/-/submit", {"comment": "ok\x00", "origin": "record"}, htmx=True)
    assert refused.status_code == 422
    assert "Remove the control character U+0000" in soup(refused).text(".alert.error")
    assert rep_client.post_form(f"/app/quote/{quote}/-/submit", {"comment": "Please", "origin": "record"},
                                htmx=True).status_code == 204
    tasks = site.tables.approval_task
    with site.reading() as c:
        task = c.execute(sa.select(tasks.c.id).where(tasks.c.state == "pending")).scalar_one()

    # a comment longer than the history keeps is refused as a whole, not cut at 2,000 characters
    refused = mgr_client.post_form(f"/-/approvals/tasks/{task}/reject", {"comment": "x" * 2001, "origin": "record"}, htmx=True)
    assert refused.status_code == 422
    assert "Enter at most 2,000 characters (this has 2,001)." in soup(refused).text(".alert.error")
    refused = client_of("admin", "secret-pw").post_form(f"/-/approvals/tasks/{task}/reassign",
                                                         {"user_id": BIG, "origin": "record"}, htmx=True)
    assert refused.status_code == 422
    with site.reading() as c:
        assert c.execute(sa.select(tasks.c.state, tasks.c.assignee_id).where(tasks.c.id == task)).one() == ("pending", mgr)
    assert mgr_client.post_form(f"/-/approvals/tasks/{task}/approve", {"comment": "Fine", "origin": "record"},
                                htmx=True).status_code == 204

    # a delegate named by an id no user can have
    response = mgr_client.post_form("/-/delegation", {"delegate_id": BIG, "starts_on": "2026-01-01", "ends_on": "2026-01-31"})
    assert response.status_code == 422
    assert "Choose someone else." in response.get_data(as_text=True)


def test_text_posted_for_a_computed_field_is_refused_and_the_form_shown_again(admin):
    response = admin.post_form("/app/account/new", {"name": "Acme", "lines_total": "a lot", "employees": "many"})
    assert response.status_code == 422
    text = soup(response).text("#record-form")
    assert "'Lines total' cannot be set here." in text
    assert soup(response)["#f-employees"][0]["value"] == "many"  # what was typed into an input stays
