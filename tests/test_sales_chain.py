"""The sales chain on the real packs, over HTTP as the people who do it: a lead converted into
a customer, contact and opportunity; an opportunity's quote; an order made from the quote
with its lines; the order's status dates; a return by lines, never more than delivered; a
product that fills its price; a related list's "+ New" that fills the parent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from kehu import create_app, hookspecs
from kehu.errors import RecordInvalid, WorkflowError
from kehu.org import OrgService
from kehu.records.conversion import PossibleDuplicates
from kehu.records.query import ListQuery
from kehu_testing import Client, Soup, soup, write

PW = "pw-secret-123"
TODAY = dt.date.today()


class World:
    """The real base pack with a small organisation: a sales department (manager, two reps),
    finance, warehouse and commerce managers who sign orders off, a marketer; two products."""

    def __init__(self, app):
        self.app = app
        self.site = app.extensions["kehu"]
        site = self.site
        admin = site.actor(site.authenticate("admin", "secret-pw"))
        org = OrgService(site, admin, "en")
        top = org.create_department("General office", code="general_office")
        depts = {code: org.create_department(code.title(), parent_id=top, code=code)
                 for code in ("sales", "finance", "warehouse", "commerce", "marketing")}
        people = {"mgr": ("sales", "sales_manager"), "rep": ("sales", "sales_rep"), "rep2": ("sales", "sales_rep"),
                  "fin": ("finance", "order_reviewer"), "wh": ("warehouse", "order_reviewer"),
                  "com": ("commerce", "order_reviewer"), "mkt": ("marketing", "marketing")}
        self.ids = {name: site.create_user(name, PW, f"User {name}", roles=[role], department_id=depts[dept], locale="en")
                    for name, (dept, role) in people.items()}
        self.ids["admin"] = admin.id
        departments = site.tables.departments
        with site.writing() as c:
            for code, manager in (("sales", "mgr"), ("finance", "fin"), ("warehouse", "wh"), ("commerce", "com")):
                c.execute(sa.update(departments).where(departments.c.id == depts[code]).values(manager_id=self.ids[manager]))
        catalog = self.svc("admin")
        self.switch = catalog.create("product", {"name": "Core switch S5735", "list_price": "12800", "cost_price": "9100",
                                                 "unit": "unit", "specification": "48 x GE, 4 x 10G SFP+"})["id"]
        self.cable = catalog.create("product", {"name": "Cat6 cable", "list_price": "3.50", "unit": "meter"})["id"]

    def svc(self, who: str):
        return self.site.records(self.site.actor(self.site.user(self.ids[who])), "en")

    def client(self, who: str) -> Client:
        client = Client(self.app.test_client())
        assert client.login(who, PW if who != "admin" else "secret-pw").status_code == 302
        return client

    def count(self, entity: str) -> int:
        return self.svc("admin").count(entity)


@pytest.fixture
def world(real_app):
    return World(real_app)


def form_fields(page, selector: str = "#record-form") -> dict:
    """What a browser submits from the form as rendered (inputs in <template> are not)."""
    form = page.doc.select_one(selector)
    out: dict[str, str] = {}
    for el in form.select("input, select, textarea"):
        if el.find_parent("template") is not None or not el.get("name") or el.get("type") in ("submit", "file"):
            continue
        if el.get("type") in ("checkbox", "radio") and not el.has_attr("checked"):
            continue
        if el.name == "select":
            chosen = el.select_one("option[selected]")
            value = chosen.get("value", "") if chosen else ""
        elif el.name == "textarea":
            value = el.get_text()
        else:
            value = el.get("value", "")
        out[el["name"]] = value
    return out


def action_links(page) -> dict[str, str]:
    return {a.get_text(strip=True): a["href"] for a in page[".title-row .actions a"]}


def lead_of(world, who="rep", **values) -> dict:
    data = {"company_name": "Xi'an Huaxin Electronics Co., Ltd.", "contact_name": "Wang Fang", "title": "IT manager",
            "mobile": "13912345678", "phone": "029-88886666", "industry": None, "estimated_amount": "250000",
            "description": "Server room upgrade this quarter.", **values}
    return world.svc(who).create("lead", data)


# ------------------------------------------------------------------ lead forms
def test_a_new_lead_saves_from_its_form_as_rendered(world):
    """The reported bug: a new lead could not be saved because the read-only 'converted
    customer' was rendered as an input and refused. The form now holds no conversion field."""
    rep = world.client("rep")
    page = soup(rep.get("/app/lead/new"))
    fields = form_fields(page)
    assert not [name for name in fields if name.startswith("converted_")]
    fields["company_name"] = "Lanzhou Xinheng Digital Co., Ltd."
    response = rep.post("/app/lead/new", data={**fields, "_action": "save_close"})
    assert response.status_code == 303, soup(response).text(".alert")
    lead_id = int(response.headers["Location"].rsplit("/", 1)[1])
    edit = soup(rep.get(f"/app/lead/{lead_id}/edit"))
    fields = form_fields(edit)
    fields["title"] = "Purchasing"
    assert rep.post(f"/app/lead/{lead_id}/edit", data={**fields, "_action": "save_close"}).status_code == 303
    assert world.svc("rep").get("lead", lead_id)["title"] == "Purchasing"


def test_conversion_fields_cannot_be_set_through_forms_or_updates(world):
    customer = world.svc("rep").create("customer", {"name": "Somebody Else Ltd."})["id"]
    rep = world.client("rep")
    fields = form_fields(soup(rep.get("/app/lead/new")))
    refused = rep.post("/app/lead/new", data={**fields, "company_name": "Sneaky Ltd.", "converted_customer": str(customer)})
    assert refused.status_code == 422
    assert "cannot be set here" in soup(refused).text(".alert")
    lead = lead_of(world)
    with pytest.raises(RecordInvalid) as exc:
        world.svc("rep").update("lead", lead["id"], {"converted_customer": customer}, lead["row_version"])
    assert "converted_customer" in exc.value.errors
    # nor can the status say 'converted' without a conversion
    with pytest.raises(RecordInvalid) as exc:
        world.svc("rep").update("lead", lead["id"], {"status": "converted"}, lead["row_version"])
    assert "Convert" in " ".join(exc.value.errors["status"])
    assert world.svc("rep").get("lead", lead["id"])["converted_customer"] is None


def test_a_read_only_field_in_a_form_layout_is_shown_not_asked_for(db_url, tmp_path):
    """Generic: a field declared read_only (even a required one) placed in a form is
    displayed, is not an input, and its absence does not stop a save."""
    from kehu_testing import FIXTURE_PACK

    extra = tmp_path / "extra"
    write(extra, "metadata/pack.yaml", """
        kind: pack
        name: extra
        label: {en: Extra, zh: 扩展}
        version: "1.0.0"
    """)
    write(extra, "metadata/entities/account.yaml", """
        kind: entity
        name: account
        fields:
          approved_note:
            type: text
            label: {en: Approval note, zh: 审批备注}
            read_only: true
            required: true
    """)
    write(extra, "layouts/account.form.yaml", """
        kind: layout
        entity: account
        type: form
        sections:
          - name: basic
            fields: [approved_note]
    """)
    app = create_app({"DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "t",
                      "BASE_PACK": FIXTURE_PACK, "PLUGINS_DIR": None, "PACKS": [str(extra)]})
    site = app.extensions["kehu"]
    try:
        site.migrate()
        site.create_user("admin", "secret-pw", "管理员", is_admin=True, locale="en")
        client = Client(app.test_client())
        client.login()
        page = soup(client.get("/app/account/new"))
        assert page["[data-field=approved_note] output.readonly"]
        assert not page["[name=approved_note]"]
        response = client.post_form("/app/account/new", {"name": "Read-only works"})
        assert response.status_code == 303, soup(response).text(".alert")
    finally:
        site.engine.dispose()


# ------------------------------------------------------------------ conversion
def test_a_rep_converts_a_lead_into_customer_contact_and_opportunity(world):
    lead = lead_of(world)
    rep = world.client("rep")
    detail = soup(rep.get(f"/app/lead/{lead['id']}"))
    assert action_links(detail)["Convert"] == f"/app/lead/{lead['id']}/convert"
    page = soup(rep.get(f"/app/lead/{lead['id']}/convert"))
    fields = form_fields(page, "#convert-form")
    assert fields["customer_mode"] == "new" and fields["contact_mode"] == "new" and fields["opportunity_mode"] == "new"
    assert fields["customer-name"] == lead["company_name"] and fields["contact-mobile"] == "13912345678"
    assert fields["opportunity-amount"] == "250000.00"
    assert not page["#duplicates"]
    fields["opportunity-name"] = "Huaxin server room"
    response = rep.post(f"/app/lead/{lead['id']}/convert", data=fields)
    assert response.status_code == 303 and response.headers["Location"] == f"/app/lead/{lead['id']}"

    svc = world.svc("rep")
    done = svc.get("lead", lead["id"])
    assert done["status"] == "converted" and done["converted_by"] == world.ids["rep"] and done["converted_at"]
    customer = svc.get("customer", done["converted_customer"])
    contact = svc.get("contact", done["converted_contact"])
    opportunity = svc.get("opportunity", done["converted_opportunity"])
    assert (customer["name"], customer["phone"], customer["owner"]) == (lead["company_name"], "029-88886666", world.ids["rep"])
    assert (contact["name"], contact["mobile"], contact["customer"], contact["is_primary"]) == (
        "Wang Fang", "13912345678", customer["id"], True)
    assert (opportunity["name"], opportunity["amount"], opportunity["customer"], opportunity["contact"], opportunity["lead"]) == (
        "Huaxin server room", Decimal("250000.00"), customer["id"], contact["id"], lead["id"])
    # the lead's page names what it became, and its history records the conversion
    page = soup(rep.get(f"/app/lead/{lead['id']}"))
    assert "Lead converted" in page.text(".flashes")
    assert page.text("[data-field=converted_customer] dd") == lead["company_name"]
    assert page["[data-field=converted_opportunity] dd a"][0]["href"] == f"/app/opportunity/{opportunity['id']}"
    changed = {h["field"] for h in svc.history("lead", lead["id"]) if h["action"] == "convert"}
    assert {"status", "converted_customer", "converted_contact", "converted_opportunity"} <= changed


def test_conversion_warns_of_duplicates_and_links_the_existing_customer_instead(world):
    svc = world.svc("rep")
    existing = svc.create("customer", {"name": "Xi'an Huaxin Electronics Co., Ltd.", "category": "customer"})
    known = svc.create("contact", {"name": "Wang F.", "customer": existing["id"], "mobile": "13912345678"})
    lead = lead_of(world)
    rep = world.client("rep")
    page = soup(rep.get(f"/app/lead/{lead['id']}/convert"))
    listed = {li["data-duplicate"] for li in page["#duplicates li"]}
    assert listed == {f"customer-{existing['id']}", f"contact-{known['id']}"}
    assert page[f"#duplicates a[href='/app/customer/{existing['id']}']"]
    fields = form_fields(page, "#convert-form")
    before = (world.count("customer"), world.count("contact"))
    warned = rep.post(f"/app/lead/{lead['id']}/convert", data=fields)
    assert warned.status_code == 409 and soup(warned)["#duplicates"]
    assert (world.count("customer"), world.count("contact")) == before
    assert svc.get("lead", lead["id"])["status"] != "converted"
    # "Link this one" on the contact links it and its customer
    linked = rep.post(f"/app/lead/{lead['id']}/convert", data={**fields, "link": f"contact:{known['id']}"})
    assert linked.status_code == 303
    done = svc.get("lead", lead["id"])
    assert (done["converted_customer"], done["converted_contact"]) == (existing["id"], known["id"])
    assert (world.count("customer"), world.count("contact")) == before
    assert world.count("opportunity") == 1


def test_conversion_can_go_on_despite_a_look_alike_contact(world):
    svc = world.svc("rep")
    other = svc.create("customer", {"name": "Another customer"})
    svc.create("contact", {"name": "Somebody", "customer": other["id"], "mobile": "13912345678"})
    lead = lead_of(world)
    with pytest.raises(PossibleDuplicates) as exc:
        svc.conversion.convert_lead(lead["id"], {"opportunity": {"mode": "none"}})
    assert [(d.entity, d.reason) for d in exc.value.duplicates] == [("contact", "mobile")]
    done = svc.conversion.convert_lead(lead["id"], {"allow_duplicates": True})
    assert done["contact"] and done["opportunity"] is None and done["created"]["contact"]
    assert world.count("contact") == 2


def test_conversion_is_all_or_nothing_when_the_contact_is_invalid(world):
    lead = lead_of(world)
    rep = world.client("rep")
    fields = form_fields(soup(rep.get(f"/app/lead/{lead['id']}/convert")), "#convert-form")
    refused = rep.post(f"/app/lead/{lead['id']}/convert", data={**fields, "contact-mobile": "12345", "contact-name": ""})
    assert refused.status_code == 422
    page = soup(refused)
    assert page["[data-field=contact-mobile].invalid"] and page["[data-field=contact-name].invalid"]
    assert page["[name=contact-mobile]"][0]["value"] == "12345"  # what was typed is kept
    assert (world.count("customer"), world.count("contact"), world.count("opportunity")) == (0, 0, 0)
    assert world.svc("rep").get("lead", lead["id"])["status"] == "new"


def test_a_failure_while_creating_undoes_the_whole_conversion(world):
    """A problem only found while saving (here a plugin refusing the contact after it was
    written) rolls back the customer made before it."""

    class RefuseContacts:
        @hookspecs.hookimpl
        def after_record_save(self, service, entity, record, created):
            if entity.name == "contact":
                raise RecordInvalid({"name": ["Refused by a plugin."]})

    world.site.pm.register(RefuseContacts())
    lead = lead_of(world)
    with pytest.raises(RecordInvalid) as exc:
        world.svc("rep").conversion.convert_lead(lead["id"], {"opportunity": {"mode": "new"}})
    assert exc.value.errors == {"contact.name": ["Refused by a plugin."]}
    assert (world.count("customer"), world.count("contact"), world.count("opportunity")) == (0, 0, 0)
    assert world.svc("rep").get("lead", lead["id"])["converted_customer"] is None


def test_a_converted_lead_cannot_be_converted_again(world):
    lead = lead_of(world)
    svc = world.svc("rep")
    svc.conversion.convert_lead(lead["id"], {})
    rep = world.client("rep")
    assert "Convert" not in action_links(soup(rep.get(f"/app/lead/{lead['id']}")))
    again = rep.get(f"/app/lead/{lead['id']}/convert")
    assert again.status_code == 303 and again.headers["Location"] == f"/app/lead/{lead['id']}"
    fields = {"customer_mode": "new", "customer-name": "Twice Ltd.", "contact_mode": "none"}
    assert rep.post_form(f"/app/lead/{lead['id']}/convert", fields).status_code == 303
    with pytest.raises(WorkflowError):
        svc.conversion.convert_lead(lead["id"], {"customer": {"mode": "new", "values": {"name": "Twice Ltd."}}})
    assert world.count("customer") == 1


def test_an_unqualified_lead_is_not_offered_conversion(world):
    lead = lead_of(world, status="unqualified")
    rep = world.client("rep")
    assert "Convert" not in action_links(soup(rep.get(f"/app/lead/{lead['id']}")))
    refused = rep.get(f"/app/lead/{lead['id']}/convert")
    assert refused.status_code == 303
    assert "mark it qualified first" in soup(rep.get(refused.headers["Location"])).text(".flashes")
    with pytest.raises(WorkflowError):
        world.svc("rep").conversion.convert_lead(lead["id"], {})
    assert world.count("customer") == 0


def test_only_who_may_change_the_lead_and_create_customers_converts_it(world):
    lead = lead_of(world, who="mkt")  # marketing may change leads but not create customers
    mkt = world.client("mkt")
    assert "Convert" not in action_links(soup(mkt.get(f"/app/lead/{lead['id']}")))
    assert mkt.get(f"/app/lead/{lead['id']}/convert").status_code == 403
    assert mkt.post_form(f"/app/lead/{lead['id']}/convert", {"customer_mode": "new"}).status_code == 403
    mine = lead_of(world, who="rep")
    other = world.client("rep2")  # another rep cannot see it: the same answer as a missing lead
    assert other.get(f"/app/lead/{mine['id']}/convert").status_code == 404
    assert other.post_form(f"/app/lead/{mine['id']}/convert", {"customer_mode": "new"}).status_code == 404
    assert other.get("/app/lead/999999/convert").status_code == 404
    assert world.count("customer") == 0


# ------------------------------------------------------------------ opportunity -> quote -> order
def _opportunity(world) -> dict:
    svc = world.svc("rep")
    customer = svc.create("customer", {"name": "Xining Xinsheng Trading Co., Ltd.", "category": "customer"})
    contact = svc.create("contact", {"name": "Li Qiang", "customer": customer["id"]})
    return svc.create("opportunity", {"name": "Xinsheng network upgrade", "customer": customer["id"],
                                      "contact": contact["id"], "expected_close": TODAY + dt.timedelta(days=30)})


def test_quote_from_opportunity_and_order_from_quote_carry_customer_contact_and_lines(world):
    opp = _opportunity(world)
    rep = world.client("rep")
    links = action_links(soup(rep.get(f"/app/opportunity/{opp['id']}")))
    assert links["Create quote"] == f"/app/quote/new?opportunity={opp['id']}"
    page = soup(rep.get(links["Create quote"]))
    fields = form_fields(page)
    assert (fields["customer"], fields["contact"], fields["opportunity"], fields["subject"]) == (
        str(opp["customer"]), str(opp["contact"]), str(opp["id"]), "Xinsheng network upgrade")
    assert fields["customer__search"] == "Xining Xinsheng Trading Co., Ltd."  # the title, not "#12"
    assert world.count("quote") == 0  # nothing is created before Save
    fields.update({"status": "accepted", "lines-0-product": str(world.switch), "lines-0-quantity": "2",
                   "lines-0-unit": "unit", "lines-0-unit_price": "12800", "lines-0-discount_percent": "5",
                   "lines-1-product": str(world.cable), "lines-1-quantity": "300", "lines-1-unit_price": "3.50",
                   "lines-1-unit": "meter", "lines-1-description": "Outdoor grade"})
    saved = rep.post(page.doc.select_one("#record-form")["action"], data={**fields, "_action": "save_close"})
    assert saved.status_code == 303, soup(saved).text(".alert")
    quote = world.svc("rep").get("quote", int(saved.headers["Location"].rsplit("/", 1)[1]))
    assert [line["amount"] for line in quote["lines"]] == [Decimal("24320.00"), Decimal("1050.00")]

    links = action_links(soup(rep.get(f"/app/quote/{quote['id']}")))
    assert links["Create order"] == f"/app/sales_order/new?quote={quote['id']}"
    page = soup(rep.get(links["Create order"]))
    fields = form_fields(page)
    assert (fields["customer"], fields["contact"], fields["quote"], fields["subject"]) == (
        str(opp["customer"]), str(opp["contact"]), str(quote["id"]), "Xinsheng network upgrade")
    assert (fields["lines-0-product"], fields["lines-0-quantity"], fields["lines-0-unit_price"], fields["lines-0-discount_percent"]) == (
        str(world.switch), "2.00", "12800.00", "5.00")
    assert (fields["lines-1-description"], fields["lines-1-unit"]) == ("Outdoor grade", "meter")
    assert "lines-0-id" not in fields  # new lines of the order, not the quote's
    assert page.text("#calc-total_amount") == "25,370.00"
    saved = rep.post(page.doc.select_one("#record-form")["action"], data={**fields, "_action": "save_close"})
    assert saved.status_code == 303, soup(saved).text(".alert")
    order = world.svc("rep").get("sales_order", int(saved.headers["Location"].rsplit("/", 1)[1]))
    keys = ("product", "quantity", "unit", "unit_price", "discount_percent", "description", "amount")
    assert [tuple(line[k] for k in keys) for line in order["lines"]] == [tuple(line[k] for k in keys) for line in quote["lines"]]
    assert (order["quote"], order["total_amount"], order["status"]) == (quote["id"], Decimal("25370.00"), "draft")
    # the quote lists its order
    related = soup(rep.get(f"/app/quote/{quote['id']}"))["#related-sales_order-quote tbody a"]
    assert [a["href"] for a in related] == [f"/app/sales_order/{order['id']}"]


def test_create_order_is_offered_only_for_an_approved_or_accepted_quote(world):
    opp = _opportunity(world)
    svc = world.svc("rep")
    quote = svc.create("quote", {"subject": "Draft quote", "customer": opp["customer"], "status": "draft"})
    rep = world.client("rep")
    assert "Create order" not in action_links(soup(rep.get(f"/app/quote/{quote['id']}")))
    svc.update("quote", quote["id"], {"status": "sent"}, quote["row_version"])
    assert "Create order" not in action_links(soup(rep.get(f"/app/quote/{quote['id']}")))
    quote = svc.get("quote", quote["id"])
    svc.update("quote", quote["id"], {"status": "accepted"}, quote["row_version"])
    assert "Create order" in action_links(soup(rep.get(f"/app/quote/{quote['id']}")))
    # an order reviewer cannot create orders: no button
    reviewer = world.client("fin")
    assert "Create order" not in action_links(soup(reviewer.get(f"/app/quote/{quote['id']}")))


# ------------------------------------------------------------------ order status and returns
def _signed_order(world, quantity="5") -> dict:
    opp = _opportunity(world)
    svc = world.svc("rep")
    order = svc.create("sales_order", {
        "subject": "Xinsheng order", "customer": opp["customer"], "contact": opp["contact"], "discount_percent": "10",
        "lines": [{"product": world.switch, "quantity": quantity, "unit_price": "12800", "discount_percent": "5"},
                  {"product": world.cable, "quantity": "300", "unit_price": "3.50"}]})
    approval = svc.approvals.submit("sales_order", order["id"])
    for task in approval["tasks"]:
        who = next(name for name, uid in world.ids.items() if uid == task.assignee_id)
        world.svc(who).approvals.approve(task.id, "OK")
    return svc.get("sales_order", order["id"])


def _move(world, order_id: int, status: str, who="rep"):
    svc = world.svc(who)
    order = svc.get("sales_order", order_id)
    return svc.update("sales_order", order_id, {"status": status}, order["row_version"])


def test_order_status_steps_are_dated_when_reached_and_never_go_back(world):
    order = _signed_order(world)
    assert (order["status"], order["confirmed_on"], order["shipped_on"]) == ("confirmed", TODAY, None)
    rep = world.client("rep")
    fields = form_fields(soup(rep.get(f"/app/sales_order/{order['id']}/edit")))
    moved = rep.post(f"/app/sales_order/{order['id']}/edit", data={**fields, "status": "shipped", "_action": "save_close"})
    assert moved.status_code == 303, soup(moved).text(".alert")
    order = world.svc("rep").get("sales_order", order["id"])
    assert (order["shipped_on"], order["delivered_on"]) == (TODAY, None)
    # a date typed in the same save wins; a later step also dates a step it skipped
    svc = world.svc("rep")
    order = svc.update("sales_order", order["id"], {"status": "invoiced", "delivered_on": TODAY - dt.timedelta(days=2)},
                       order["row_version"])
    assert (order["delivered_on"], order["invoiced_on"], order["paid_on"]) == (TODAY - dt.timedelta(days=2), TODAY, None)
    page = soup(rep.get(f"/app/sales_order/{order['id']}"))
    assert page.text("[data-field=invoiced_on] dd") == TODAY.isoformat()
    assert page.text("[data-field=delivered_on] dd") == (TODAY - dt.timedelta(days=2)).isoformat()
    # going back is refused with a message, and changes nothing
    fields = form_fields(soup(rep.get(f"/app/sales_order/{order['id']}/edit")))
    back = rep.post(f"/app/sales_order/{order['id']}/edit", data={**fields, "status": "shipped"})
    assert back.status_code == 422
    assert "cannot go back from Invoiced to Shipped" in soup(back).text("[data-field=status] .errors")
    assert world.svc("rep").get("sales_order", order["id"])["status"] == "invoiced"


def test_an_order_moves_past_draft_only_after_its_sign_off(world):
    opp = _opportunity(world)
    svc = world.svc("rep")
    order = svc.create("sales_order", {"subject": "Unsigned", "customer": opp["customer"]})
    with pytest.raises(RecordInvalid) as exc:
        svc.update("sales_order", order["id"], {"status": "shipped"}, order["row_version"])
    assert "sign-off" in " ".join(exc.value.errors["status"])
    order = svc.get("sales_order", order["id"])
    assert (order["status"], order["shipped_on"]) == ("draft", None)
    # cancelling a draft needs no sign-off
    assert svc.update("sales_order", order["id"], {"status": "cancelled"}, order["row_version"])["status"] == "cancelled"


def test_a_return_takes_the_order_lines_and_never_more_than_was_delivered(world):
    order = _signed_order(world, quantity="5")
    rep = world.client("rep")
    assert "Create return" not in action_links(soup(rep.get(f"/app/sales_order/{order['id']}")))
    _move(world, order["id"], "delivered")
    links = action_links(soup(rep.get(f"/app/sales_order/{order['id']}")))
    assert links["Create return"] == f"/app/return_order/new?sales_order={order['id']}"
    page = soup(rep.get(links["Create return"]))
    fields = form_fields(page)
    assert (fields["customer"], fields["discount_percent"]) == (str(order["customer"]), "10.00")
    assert (fields["lines-0-product"], fields["lines-0-quantity"], fields["lines-0-unit_price"]) == (str(world.switch), "5.00", "12800.00")
    assert fields["lines-1-product"] == str(world.cable)
    # return 3 of the 5 switches, not the cable
    fields = {k: v for k, v in fields.items() if not k.startswith("lines-1-")}
    fields.update({"lines-0-quantity": "3", "reason": "quality_issue"})
    saved = rep.post(page.doc.select_one("#record-form")["action"], data={**fields, "_action": "save_close"})
    assert saved.status_code == 303, soup(saved).text(".alert")
    first = world.svc("rep").get("return_order", int(saved.headers["Location"].rsplit("/", 1)[1]))
    switch_line = next(line for line in order["lines"] if line["product"] == world.switch)
    assert [(line["order_line"], line["quantity"]) for line in first["lines"]] == [(switch_line["id"], Decimal("3.00"))]
    assert first["amount"] == Decimal("32832.00")  # 3 x 12800 x 0.95, less the order's 10%

    # "Create return" again proposes what is left of each line: 2 switches, and the cable
    page = soup(rep.get(links["Create return"]))
    fields = form_fields(page)
    assert (fields["lines-0-product"], fields["lines-0-quantity"]) == (str(world.switch), "2.00")
    assert fields["lines-1-product"] == str(world.cable)
    # a second return of 3 would exceed what is left: 5 delivered, 3 returned
    fields = {k: v for k, v in fields.items() if not k.startswith("lines-1-")}
    fields.update({"lines-0-quantity": "3", "reason": "wrong_quantity"})
    over = rep.post(page.doc.select_one("#record-form")["action"], data=fields)
    assert over.status_code == 422
    assert "At most 2 can be returned: 5 delivered, 3 on other returns." in soup(over).text(".grid-table .errors")
    assert soup(over).text("#calc-subtotal") == "36,480.00"  # the refused form still adds its lines up
    assert world.count("return_order") == 1
    fields["lines-0-quantity"] = "2"
    assert rep.post(page.doc.select_one("#record-form")["action"], data=fields).status_code == 303
    # a cancelled return gives its quantity back
    admin = world.svc("admin")
    first = admin.get("return_order", first["id"])
    admin.update("return_order", first["id"], {"status": "cancelled"}, first["row_version"])
    assert world.svc("rep").create("return_order", {
        "sales_order": order["id"], "reason": "other", "lines": [{"product": world.switch, "quantity": "3", "unit_price": "12800"}]})


def test_nothing_is_returned_from_an_order_not_yet_delivered_nor_a_product_it_lacks(world):
    order = _signed_order(world)
    svc = world.svc("rep")
    with pytest.raises(RecordInvalid) as exc:
        svc.create("return_order", {"sales_order": order["id"], "reason": "other",
                                    "lines": [{"product": world.switch, "quantity": "1", "unit_price": "12800"}]})
    assert "not been delivered" in " ".join(exc.value.errors["sales_order"])
    _move(world, order["id"], "delivered")
    other = world.svc("admin").create("product", {"name": "Router", "list_price": "900"})
    with pytest.raises(RecordInvalid) as exc:
        svc.create("return_order", {"sales_order": order["id"], "reason": "other",
                                    "lines": [{"product": other["id"], "quantity": "1", "unit_price": "900"}]})
    assert "not on order" in " ".join(exc.value.errors["lines.0.product"])
    assert world.count("return_order") == 0


# ------------------------------------------------------------------ product fill
def test_picking_a_product_fills_price_unit_and_description(world):
    rep = world.client("rep")
    page = soup(rep.get("/app/quote/new"))
    row = Soup(page.doc.select_one("template#tpl-lines").decode_contents())  # the row "+ Add row" adds
    assert [(b["data-fill"], b["data-fill-field"]) for b in row["span[data-fill]"]] == [
        ("/app/quote/-/fill/lines.product", "product")]
    assert [b["data-fill"] for b in page["span[data-fill]"]] == ["/app/quote/-/fill/opportunity"]
    filled = rep.get(f"/app/quote/-/fill/lines.product?id={world.switch}").get_json()
    assert filled == {"unit_price": {"value": "12800.00"}, "unit": {"value": "unit"},
                      "description": {"value": "48 x GE, 4 x 10G SFP+"}}
    # the same declaration works on the order's lines; a product without specification fills no description
    assert rep.get(f"/app/sales_order/-/fill/lines.product?id={world.cable}").get_json() == {
        "unit_price": {"value": "3.50"}, "unit": {"value": "meter"}}
    # a plain lookup fills the form's fields: picking a quote in an order
    opp = _opportunity(world)
    quote = world.svc("rep").create("quote", {"subject": "Q", "customer": opp["customer"], "contact": opp["contact"]})
    filled = rep.get(f"/app/sales_order/-/fill/quote?id={quote['id']}").get_json()
    assert filled["customer"] == {"value": str(opp["customer"]), "label": "Xining Xinsheng Trading Co., Ltd."}
    assert "lines" not in filled  # lines are copied when the order is opened from the quote
    # nothing for a bad id, a missing record, a field without fill
    for url in ("/app/quote/-/fill/lines.product?id=x", "/app/quote/-/fill/lines.product?id=99999999999",
                "/app/quote/-/fill/lines.product?id=424242", f"/app/quote/-/fill/customer?id={opp['customer']}",
                "/app/quote/-/fill/subject.product?id=1", "/app/quote/-/fill/lines.nothing?id=1", "/app/quote/-/fill/x?id=1"):
        assert rep.get(url).get_json() == {}


def test_product_fill_reads_the_product_as_the_user_may_see_it(world, db_url, tmp_path):
    """A role that hides the list price gets no price filled: the fill endpoint reads the
    product through the record service, hidden fields and all; no product, no fill."""
    role_pack = tmp_path / "roles"
    write(role_pack, "metadata/pack.yaml", """
        kind: pack
        name: price_blind
        label: {en: Price blind, zh: 价格不可见}
        version: "1.0.0"
    """)
    write(role_pack, "metadata/roles/price_blind.yaml", """
        kind: role
        name: price_blind
        label: {en: Price blind, zh: 价格不可见}
        permissions:
          quote: {create: all, read: own, write: own}
          quote_line: {create: all, read: own, write: own}
          product: {read: all}
        fields:
          product: {list_price: hidden}
    """)
    app = create_app({"DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "instance2"), "SECRET_KEY": "t",
                      "PACKS": [str(role_pack)]})
    site = app.extensions["kehu"]
    try:
        site.create_user("blind", PW, "Blind", roles=["price_blind"], locale="en")
        site.create_user("nobody", PW, "Nobody", roles=[], locale="en")
        blind, nobody = Client(app.test_client()), Client(app.test_client())
        blind.login("blind", PW)
        nobody.login("nobody", PW)
        assert blind.get(f"/app/quote/-/fill/lines.product?id={world.switch}").get_json() == {
            "unit": {"value": "unit"}, "description": {"value": "48 x GE, 4 x 10G SFP+"}}
        assert nobody.get(f"/app/quote/-/fill/lines.product?id={world.switch}").get_json() == {}
    finally:
        site.engine.dispose()


# ------------------------------------------------------------------ related "+ New"
def test_related_new_opens_the_form_with_the_parent_filled_in(world):
    svc = world.svc("rep")
    customer = svc.create("customer", {"name": "Baoji Jinda Machinery Co., Ltd."})
    rep = world.client("rep")
    page = soup(rep.get(f"/app/customer/{customer['id']}"))
    new_link = page.doc.select_one("#related-contact-customer a")  # an empty related list is one line
    assert new_link["href"] == f"/app/contact/new?customer={customer['id']}"
    form = soup(rep.get(new_link["href"]))
    fields = form_fields(form)
    assert fields["customer"] == str(customer["id"]) and fields["customer__search"] == "Baoji Jinda Machinery Co., Ltd."
    cancel = form.doc.select_one("#record-form .actions a.button")
    assert cancel["href"] == f"/app/customer/{customer['id']}"
    assert form.doc.select_one("#record-form")["action"] == f"/app/contact/new?customer={customer['id']}"
    fields["name"] = "Zhou Min"
    saved = rep.post(f"/app/contact/new?customer={customer['id']}", data={**fields, "_action": "save_close"})
    assert saved.status_code == 303
    assert [r["customer"] for r in svc.list("contact", ListQuery(), ["customer"]).rows] == [customer["id"]]


def test_prefill_ignores_bad_values_and_records_the_user_cannot_read(world):
    theirs = world.svc("rep2").create("customer", {"name": "Not yours Ltd."})
    mine = world.svc("rep").create("customer", {"name": "Mine Ltd."})
    rep = world.client("rep")
    for query in ("customer=abc", "customer=99999999999999999999", "customer=-3", f"customer={theirs['id']}",
                  "customer=424242", "customer=", "role=no_such_option", "birthday=31-02-2026", "is_primary=maybe",
                  "name=" + "x" * 3000, "owner=1", "id=5", "nonsense=1"):
        response = rep.get(f"/app/contact/new?{query}")
        assert response.status_code == 200, query
        fields = form_fields(soup(response))
        assert fields["customer"] == "" and fields.get("role", "") == "" and fields.get("birthday", "") == "", query
        assert fields["name"] == "" and soup(response).doc.select_one("#record-form")["action"] == "/app/contact/new", query
    fields = form_fields(soup(rep.get(f"/app/contact/new?customer={mine['id']}&name=Zhou+Min&role=decision_maker&is_primary=true")))
    assert (fields["customer"], fields["name"], fields["role"], fields["is_primary"]) == (str(mine["id"]), "Zhou Min", "decision_maker", "true")
