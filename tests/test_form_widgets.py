"""Generic form rendering and reading: child grids, read-only and conditional fields.

Each form here is filled as rendered (tests/kehu_forms.py): what the page offers is what is
posted, so a control the server cannot read, or a value it drops, shows up as a failure.
"""

from __future__ import annotations

import sqlalchemy as sa

from kehu_forms import HtmlForm
from kehu_testing import soup


def new_account_form(client, lines: int = 2) -> HtmlForm:
    form = HtmlForm.of(client.get("/app/account/new").get_data(as_text=True), page_url="/app/account/new")
    for _ in range(lines):
        form.add_row("lines")
    return form


def saved_lines(app, name: str) -> list[dict]:
    site = app.extensions["kehu"]
    table = site.tables["account"]
    with site.reading() as conn:
        record_id = conn.execute(sa.select(table.c.id).where(table.c.name == name)).scalar_one()
    admin = site.records(site.actor(site.authenticate("admin", "secret-pw")), "en")
    return admin.get("account", record_id)["lines"]


def test_a_yes_no_column_in_a_grid_saves_ticked_and_unticked_lines(client):
    client.login()
    form = new_account_form(client)
    form.type("name", "Grid booleans")
    form.type("lines-0-item", "Server")
    form.type("lines-0-price", "100")
    form.tick("lines-0-billable")
    form.type("lines-1-item", "Cable")  # left unticked: the browser sends only the hidden marker
    assert [name for name, _ in form.entries() if "billable" in name] == [
        "lines-0-billable__present", "lines-0-billable", "lines-1-billable__present"]
    response = form.submit(client, form.button("save"))
    assert response.status_code == 204, soup(response).text(".alert")
    lines = saved_lines(client.application, "Grid booleans")
    assert [(line["item"], line["billable"]) for line in lines] == [("Server", True), ("Cable", False)]


def test_editing_a_line_can_untick_its_yes_no_column(client):
    client.login()
    form = new_account_form(client, lines=1)
    form.type("name", "Untick me")
    form.type("lines-0-item", "Server")
    form.type("lines-0-price", "100")
    form.tick("lines-0-billable")
    assert form.submit(client, form.button("save")).status_code == 204
    record_id = saved_lines(client.application, "Untick me")[0]["account"]
    url = f"/app/account/{record_id}/edit"
    edit = HtmlForm.of(client.get(url).get_data(as_text=True), page_url=url)
    assert edit.value("lines-0-billable") is True
    edit.tick("lines-0-billable", False)
    assert edit.submit(client, edit.button("save")).status_code == 204
    assert [line["billable"] for line in saved_lines(client.application, "Untick me")] == [False]


def test_a_refused_line_is_marked_and_every_typed_line_comes_back(client):
    client.login()
    form = new_account_form(client, lines=3)
    form.type("name", "Bad line")
    form.type("lines-0-item", "Server")
    form.type("lines-0-quantity", "2")
    form.type("lines-0-price", "100")
    form.tick("lines-0-billable")
    form.type("lines-1-item", "Cable")
    form.type("lines-1-quantity", "many")  # not a number
    form.type("lines-2-quantity", "1")     # no item: a required column
    response = form.submit(client, form.button("save"))
    assert response.status_code == 422
    page = soup(response)
    again = HtmlForm.of(response.get_data(as_text=True))
    # every line typed is shown again, exactly as typed
    assert again.rows("lines") == 3
    assert [again.value(f"lines-{i}-item") for i in range(3)] == ["Server", "Cable", ""]
    assert [again.value(f"lines-{i}-quantity") for i in range(3)] == ["2.00", "many", "1.00"]
    assert again.value("lines-0-billable") is True
    # the grid is marked, and each bad cell says why
    assert "invalid" in page["[data-field=lines]"][0]["class"]
    rows = page["[data-grid=lines] tbody tr"]
    assert "number" in rows[1].select_one("td:nth-of-type(2) .errors").get_text()
    assert "required" in rows[2].select_one("td:nth-of-type(1) .errors").get_text()
    assert rows[0].select(".errors") == []
    assert saved_count(client.application) == 0


def saved_count(app) -> int:
    site = app.extensions["kehu"]
    with site.reading() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(site.tables["account"])).scalar_one()


def test_a_lines_own_rule_is_shown_on_that_line(client):
    client.login()
    form = new_account_form(client, lines=2)
    form.type("name", "Line rule")
    form.type("lines-0-item", "Server")
    form.type("lines-0-price", "10")
    form.tick("lines-0-billable")
    form.type("lines-1-item", "Cable")
    form.tick("lines-1-billable")  # billable without a price: the line's rule refuses it
    response = form.submit(client, form.button("save"))
    assert response.status_code == 422
    rows = soup(response)["[data-grid=lines] tbody tr"]
    assert rows[0].select(".errors") == []
    assert rows[1].select_one("td:last-child .errors").get_text(strip=True) == "A billable line needs a price."


# ------------------------------------------------ read-only and conditional fields
def test_a_read_only_field_is_shown_not_offered_and_the_form_saves(real_client):
    """The lead's "converted customer" is set by conversion, never typed: a new lead's form
    must not post it (it used to, and every new lead was refused)."""
    real_client.login()
    form = HtmlForm.of(real_client.get("/app/lead/new").get_data(as_text=True), page_url="/app/lead/new")
    assert not form.has("converted_customer")
    form.type("company_name", "西安华信电子科技有限公司")
    response = form.submit(real_client, form.button("save"))
    assert response.status_code == 204, soup(response).text(".alert")
    site = real_client.application.extensions["kehu"]
    admin = site.records(site.actor(site.authenticate("admin", "secret-pw")), "zh")
    customer = admin.create("customer", {"name": "华信集团"})
    lead = admin.list("lead", __import__("kehu.records.query", fromlist=["ListQuery"]).ListQuery()).rows[0]
    with site.writing() as conn:  # as the conversion action will: the system sets it
        conn.execute(sa.update(site.tables["lead"]).where(site.tables["lead"].c.id == lead["id"])
                     .values(converted_customer=customer["id"], status="converted"))
    url = f"/app/lead/{lead['id']}/edit"
    edit = HtmlForm.of(real_client.get(url).get_data(as_text=True), page_url=url)
    assert not edit.has("converted_customer")  # shown on the lead's page, never offered in its form
    response = edit.submit(real_client, edit.button("save"))
    assert response.status_code == 204, soup(response).text(".alert")


def test_conditional_fields_follow_the_record_on_forms_and_detail_pages(real_client):
    real_client.login()
    site = real_client.application.extensions["kehu"]
    admin = site.records(site.actor(site.authenticate("admin", "secret-pw")), "zh")
    # a new activity is a task: no location
    assert soup(real_client.get("/app/activity/new"))["[data-field=location]"][0].has_attr("hidden")
    call = admin.create("activity", {"subject": "回访", "type": "call", "due_at": "2026-03-16T10:00", "location": "会议室"})
    visit = admin.create("activity", {"subject": "拜访", "type": "visit", "due_at": "2026-03-16T10:00", "location": "客户现场"})
    assert soup(real_client.get(f"/app/activity/{call['id']}/edit"))["[data-field=location]"][0].has_attr("hidden")
    assert not soup(real_client.get(f"/app/activity/{visit['id']}/edit"))["[data-field=location]"][0].has_attr("hidden")
    # a detail page shows a field only where its condition holds
    assert soup(real_client.get(f"/app/activity/{call['id']}"))["[data-field=location]"] == []
    assert soup(real_client.get(f"/app/activity/{visit['id']}")).text("[data-field=location] dd") == "客户现场"

