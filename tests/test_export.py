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
    response = client.get("/app/account/export.csv?f.tier.eq=a&sort=name")
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
    rows = rows_of(client.get("/app/account/export.csv"))
    assert rows[1][rows[0].index("Name")] == "'=HYPERLINK(\"http://x\")"


def test_bad_filter_refuses_the_export(client):
    client.login()
    assert client.get("/app/account/export.csv?f.employees.gte=many").status_code == 400
