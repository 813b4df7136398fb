"""CSV export: the list's filters, labels instead of keys, numbers as numbers, no formulas."""

from __future__ import annotations

import csv
import io

import pytest

from kehu.web.export import safe_cell


def rows_of(response):
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # Excel reads the Chinese correctly with a BOM
    return list(csv.reader(io.StringIO(text[1:])))


def admin_service(app):
    site = app.extensions["kehu"]
    return site.records(site.actor(site.authenticate("admin", "secret-pw")), "en")


def test_export_follows_the_list_filters_and_shows_labels(client, app):
    svc = admin_service(app)
    parent = svc.create("account", {"name": "Group", "tier": "a"})
    svc.create("account", {"name": "Child", "tier": "a", "parent": parent["id"], "revenue": "1,234.50", "employees": "7"})
    svc.create("account", {"name": "Other", "tier": "b"})
    client.login()
    response = client.post_form("/app/account/export.csv", {"f.tier.eq": "a", "sort": "name"})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = rows_of(response)
    header = rows[0]
    assert header[:3] == ["ID", "Code", "Name"]
    by_name = {row[header.index("Name")]: row for row in rows[1:]}
    assert sorted(by_name) == ["Child", "Group"]
    child = by_name["Child"]
    assert child[header.index("Tier")] == "Key account"
    assert child[header.index("Parent")] == "Group"
    assert child[header.index("Revenue")] == "1234.50"
    assert child[header.index("Owner")] == "管理员"


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x", "  =HYPERLINK(1)", "\x01=x"])
def test_formula_leaders_are_neutralised(text):
    assert safe_cell(text).startswith("'")


def test_plain_values_and_numbers_pass_unchanged():
    assert safe_cell("西安华信") == "西安华信"
    assert safe_cell(-5) == -5  # numbers stay numbers
    assert safe_cell(None) == ""


def test_a_name_that_looks_like_a_formula_is_exported_inert(client, app):
    admin_service(app).create("account", {"name": "=HYPERLINK(\"http://x\")"})
    client.login()
    rows = rows_of(client.post_form("/app/account/export.csv"))
    assert rows[1][rows[0].index("Name")] == "'=HYPERLINK(\"http://x\")"


def test_bad_filter_refuses_the_export(client):
    client.login()
    assert client.post_form("/app/account/export.csv", {"f.employees.gte": "many"}).status_code == 400


# ------------------------------------------------- an action: POST, CSRF, audit
def test_export_is_refused_by_get(client):
    client.login()
    assert client.get("/app/account/export.csv").status_code == 405
    assert client.get("/app/account/export.csv?f.tier.eq=a").status_code == 405


def test_export_needs_the_forms_csrf_token(client):
    client.login()
    response = client.post("/app/account/export.csv", data={"f.tier.eq": "a"})
    assert response.status_code == 400
    assert "text/csv" not in response.headers["Content-Type"]


def test_each_export_is_written_to_the_audit_log(client, app):
    import json

    import sqlalchemy as sa

    svc = admin_service(app)
    svc.create("account", {"name": "Group", "tier": "a"})
    svc.create("account", {"name": "Grove", "tier": "a"})
    svc.create("account", {"name": "Grotto", "tier": "b"})
    svc.create("account", {"name": "Other", "tier": "a"})
    client.login()
    rows = rows_of(client.post_form("/app/account/export.csv", {"f.tier.eq": "a", "q": "Gro", "sort": "name"}))
    assert len(rows) == 3
    site = app.extensions["kehu"]
    audit = site.tables.audit
    with site.reading() as c:
        entries = c.execute(sa.select(audit).where(audit.c.action == "export")).mappings().all()
    assert len(entries) == 1
    entry = entries[0]
    assert (entry["actor_id"], entry["entity"]) == (site.authenticate("admin", "secret-pw")["id"], "account")
    assert json.loads(entry["detail"]) == {"filters": [{"field": "tier", "op": "eq", "values": ["a"]}], "search": "Gro",
                                           "deleted": False, "rows": 2}


def test_a_refused_export_writes_nothing(client, app):
    import sqlalchemy as sa

    client.login()
    assert client.post_form("/app/account/export.csv", {"f.employees.gte": "many"}).status_code == 400
    site = app.extensions["kehu"]
    with site.reading() as c:
        assert c.execute(sa.select(site.tables.audit.c.id).where(site.tables.audit.c.action == "export")).all() == []


def test_the_list_offers_an_export_form_with_its_filters(client, app):
    from kehu_testing import soup

    admin_service(app).create("account", {"name": "Group", "tier": "a"})
    client.login()
    page = soup(client.get("/app/account/?f.tier.eq=a&q=Gr&sort=-name"))
    form = page["form#export"][0]
    assert form["method"] == "post" and form["action"] == "/app/account/export.csv"
    fields = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    assert fields.pop("csrf_token")
    assert fields == {"f.tier.eq": "a", "q": "Gr", "sort": "-name"}
    # what the form sends is what the list shows
    response = client.post_form("/app/account/export.csv", fields)
    assert [row[2] for row in rows_of(response)[1:]] == ["Group"]
