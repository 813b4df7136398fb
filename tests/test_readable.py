"""Readable everywhere: history, the 360° timeline and the audit log speak in labels, names
and formatted values (never JSON or ids); a lookup one cannot follow says why; every save
and delete leaves a message on the page the user lands on."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from kehu.org import OrgService
from kehu.records.timeline import Timeline
from kehu_testing import Client, soup

PASSWORD = "pw-12345678"
RAW_ID = re.compile(r"#\d")


def site_of(app):
    return app.extensions["kehu"]


def admin_of(app):
    site = site_of(app)
    return site.records(site.actor(site.authenticate("admin", "secret-pw")), "en")


def add_user(app, username, roles=(), name=None, **kwargs) -> int:
    return site_of(app).create_user(username, PASSWORD, name or username.title(), roles=list(roles), locale="en", **kwargs)


def service_for(app, user_id, lang="en"):
    site = site_of(app)
    return site.records(site.actor(site.user(user_id)), lang)


def signed_in(app, username, password=PASSWORD, lang="en") -> Client:
    client = Client(app.test_client())
    assert client.login(username, password, lang=lang).status_code == 302
    return client


def text_of(element) -> str:
    return " ".join(element.get_text().split()) if element is not None else ""


def timeline_text(client, url) -> str:
    return text_of(soup(client.get(url)).doc.select_one("#timeline"))


def assert_readable(text: str) -> None:
    """No stored form leaks into what people read: no JSON, no raw ids, no Python values."""
    for leak in ("{", "}", "[", "]", '"', "True", "False", "None", "line change"):
        assert leak not in text, (leak, text)
    assert not RAW_ID.search(text), text


# ------------------------------------------------------------------ history
def test_history_words_every_change_with_labels_names_and_formatted_values(app, client):
    admin = admin_of(app)
    li = add_user(app, "li", name="李明")
    parent = admin.create("account", {"name": "Parent Co"})
    record = admin.create("account", {"name": "Alpha", "tier": "a", "tags": ["hot"], "revenue": "1000", "active": "false",
                                      "lines": [{"item": "keep", "quantity": "1", "price": "10"},
                                                {"item": "change", "quantity": "1", "price": "10"},
                                                {"item": "drop", "quantity": "1", "price": "10"}]})
    keep, change, _drop = record["lines"]
    admin.update("account", record["id"], {
        "tier": "b", "tags": ["hot", "cold"], "revenue": "2500.5", "active": "true", "since": "2026-03-18",
        "next_call": "2026-03-18T14:30", "parent": str(parent["id"]), "owner_user": str(li),
        "contract": FileStorage(io.BytesIO(b"signed"), filename="contract.txt"),
        "profile": "<p>Big <b>deal</b></p>",
        "lines": [{"id": keep["id"]}, {"id": change["id"], "quantity": "3"}, {"item": "new", "quantity": "2", "price": "5"}],
    }, record["row_version"])
    client.login()
    text = timeline_text(client, f"/app/account/{record['id']}")
    for words in ("Tier: Key account → Regular", "Tags: Hot → Cold, Hot", "Revenue: ¥1,000.00 → ¥2,500.50",
                  "Active: No → Yes", "Since: empty → 2026-03-18", "Next call: empty → 2026-03-18 14:30",
                  "Parent: empty → Parent Co", "Account manager: empty → 李明", "Contract: empty → contract.txt",
                  "Profile: empty → Big deal", "Lines: 1 added, 1 changed, 1 removed", "管理员 created the record"):
        assert words in text, words
    assert_readable(text)
    # the same history in Chinese: option labels, yes/no and line counts in the reader's language
    client.post_form("/-/lang", {"lang": "zh", "next": "/"})
    chinese = timeline_text(client, f"/app/account/{record['id']}")
    for words in ("等级: 重点客户 → 普通客户", "启用: 否 → 是", "明细: 新增 1 行，修改 1 行，删除 1 行", "创建了记录"):
        assert words in chinese, words


def test_one_save_is_one_entry_listing_its_changes(app, client):
    admin = admin_of(app)
    record = admin.create("account", {"name": "Alpha", "employees": "5"})
    admin.update("account", record["id"], {"name": "Alpha Ltd", "employees": "7"}, record["row_version"])
    client.login()
    entries = soup(client.get(f"/app/account/{record['id']}"))["#timeline li.tl-change"]
    assert [e["data-action"] for e in entries] == ["update", "create"]
    assert [c["data-field"] for c in entries[0].select(".change")] == ["name", "employees"]


# -------------------------------------------------------- lookups one cannot follow
@pytest.fixture
def rep_and_other(app):
    """A rep with a visit of their own account, which an admin then gives to someone else."""
    rep = add_user(app, "rep_a", ["rep"], name="代表甲")
    other = add_user(app, "rep_b", ["rep"], name="代表乙")
    svc = service_for(app, rep)
    own = svc.create("account", {"name": "Still mine"})
    gone = svc.create("account", {"name": "Secret Holdings"})
    visit = svc.create("visit", {"subject": "Kick-off", "account": str(gone["id"])})
    visit = svc.update("visit", visit["id"], {"account": str(own["id"])}, visit["row_version"])
    visit = svc.update("visit", visit["id"], {"account": str(gone["id"])}, visit["row_version"])
    admin_of(app).ownership.assign("account", [gone["id"]], other)
    return {"rep": rep, "other": other, "own": own, "gone": gone, "visit": visit}


def test_a_lookup_to_a_record_one_cannot_read_says_no_access(app, rep_and_other):
    visit, gone = rep_and_other["visit"], rep_and_other["gone"]
    rep = signed_in(app, "rep_a")
    detail = soup(rep.get(f"/app/visit/{visit['id']}"))
    assert text_of(detail.doc.select_one("[data-field=account] dd")) == "(no access)"
    assert not detail.doc.select("[data-field=account] dd a")  # no link to a page that would 404
    history = text_of(detail.doc.select_one("#timeline"))
    assert "Account: Still mine → (no access)" in history and "Secret Holdings" not in history
    assert_readable(history)
    listing = soup(rep.get("/app/visit/"))
    assert "(no access)" in text_of(listing.doc.select_one("#list tbody")) and "Secret" not in text_of(listing.doc)
    form = soup(rep.get(f"/app/visit/{visit['id']}/edit"))
    assert form["input[name=account__search]"][0]["value"] == "(no access)"
    assert form["input[name=account]"][0]["value"] == str(gone["id"])  # saving the form keeps the link
    chinese = soup(signed_in(app, "rep_a", lang="zh").get(f"/app/visit/{visit['id']}"))
    assert text_of(chinese.doc.select_one("[data-field=account] dd")) == "（无权查看）"
    assert RAW_ID.search(text_of(detail.doc.select_one("main"))) is None


def test_a_lookup_to_a_deleted_record_says_deleted(app, client, rep_and_other):
    visit, gone = rep_and_other["visit"], rep_and_other["gone"]
    admin_of(app).delete("account", gone["id"])
    client.login()
    detail = soup(client.get(f"/app/visit/{visit['id']}"))
    assert text_of(detail.doc.select_one("[data-field=account] dd")) == "(deleted)"
    assert "Account: Still mine → (deleted)" in text_of(detail.doc.select_one("#timeline"))


# ----------------------------------------------------------------- messages
def test_saving_shows_saved_on_the_page_the_browser_lands_on(client):
    client.login()
    created = client.post_form("/app/account/new", {"name": "Alpha", "_action": "save"}, htmx=True)
    assert created.status_code == 204
    target = created.headers["HX-Redirect"]
    record_id = int(re.fullmatch(r"/app/account/(\d+)/edit", target).group(1))  # the new record's own URL
    assert soup(client.get(target)).text(".flashes .alert.ok") == "Saved."
    assert not soup(client.get(target))[".flashes"]  # shown once
    edited = client.post_form(f"/app/account/{record_id}/edit", {"name": "Alpha Ltd", "row_version": "1", "_action": "save_close"})
    assert edited.status_code == 303 and edited.location == f"/app/account/{record_id}"
    assert soup(client.get(edited.location)).text(".flashes .alert.ok") == "Saved."


def test_deleting_says_where_to_restore_from_in_both_languages(app, client):
    record = admin_of(app).create("account", {"name": "Alpha"})
    client.login()
    response = client.post_form(f"/app/account/{record['id']}/delete", htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/app/account/"
    assert soup(client.get("/app/account/")).text(".flashes .alert.ok") == \
        "Deleted “Alpha” — you can restore it from the recycle bin."
    restored = client.post_form(f"/app/account/{record['id']}/restore")
    assert soup(client.get(restored.location)).text(".flashes .alert.ok") == "Restored."
    client.post_form("/-/lang", {"lang": "zh", "next": "/"})
    client.post_form(f"/app/account/{record['id']}/delete")
    assert soup(client.get("/app/account/")).text(".flashes .alert.ok") == "已删除“Alpha”，可在回收站恢复。"


def test_a_refused_delete_leaves_no_message_and_the_record(app, rep_and_other):
    rep = signed_in(app, "rep_b")  # reps may delete only their own accounts
    own = rep_and_other["own"]
    assert rep.post_form(f"/app/account/{own['id']}/delete").status_code == 404
    assert not soup(rep.get("/app/account/"))[".flashes"]
    assert admin_of(app).get("account", own["id"])["deleted_at"] is None


# ---------------------------------------------------------------- audit log
def test_the_audit_log_reads_as_sentences_with_names(app, client, rep_and_other):
    site = site_of(app)
    admin = admin_of(app)
    org = OrgService(site, admin.actor, "en")
    dept = org.create_department("Sales", name_en="Sales")
    team = org.create_team("North", [rep_and_other["rep"], rep_and_other["other"]])
    admin.ownership.share("account", rep_and_other["own"]["id"], "team", team, "read")
    user = org.user(rep_and_other["rep"])
    org.update_user(rep_and_other["rep"], display_name=user["display_name"], department_id=dept, roles=["rep", "viewer"],
                    teams=[team], is_active=True, is_admin=False)
    admin.ownership.transfer(rep_and_other["other"], rep_and_other["rep"])
    client.login()
    page = soup(client.get("/-/admin/audit"))
    sentences = [text_of(td) for td in page["#audit td.detail"]]
    assert sentences[0] == "Moved every record of 代表乙 to 代表甲: Account 1"
    assert sentences[1] == "Transferred 1 Account (Secret Holdings) to 代表甲"
    assert sentences[2] == "Changed user 代表甲: department none → Sales; roles Rep → Rep, Viewer"
    assert sentences[3] == "Shared Account Still mine with team North (read only)"
    assert sentences[4] == "Created team North with 代表甲, 代表乙"
    assert sentences[5] == "Created department Sales: under none, manager none"
    assert sentences[6] == "Assigned 1 Account (Secret Holdings) to 代表乙"
    for sentence in sentences:
        assert_readable(sentence)
    actions = [text_of(td) for td in page["#audit td.action"]]
    assert actions[:3] == ["Transfer of all records", "Transferred", "User changed"]


def test_the_audit_log_pages_fifty_at_a_time(app, client):
    site = site_of(app)
    with site.writing() as conn:
        for i in range(120):
            site.audit(conn, None, "team.members", None, None, {"members": []})
    client.login()
    first = soup(client.get("/-/admin/audit"))
    assert len(first["#audit tbody tr"]) == 50 and "120" in first.text("main p.muted")
    assert first["a[rel=next]"][0]["href"] == "/-/admin/audit?page=2" and not first["a[rel=prev]"]
    last = soup(client.get("/-/admin/audit?page=3"))
    assert len(last["#audit tbody tr"]) == 20 and not last["a[rel=next]"] and last["a[rel=prev]"]
    assert len(soup(client.get("/-/admin/audit?page=99"))["#audit tbody tr"]) == 20  # past the end: the last page


# --------------------------------------------------------------- 360° timeline
def customer_world(real_app):
    """A customer owned by rep A with related records of rep A and of rep B."""
    site = site_of(real_app)
    admin = admin_of(real_app)
    rep_a = add_user(real_app, "rep_a", ["sales_rep"], name="赵一")
    rep_b = add_user(real_app, "rep_b", ["sales_rep"], name="钱二")
    customer = admin.create("customer", {"name": "华信电子有限公司"})
    admin.ownership.assign("customer", [customer["id"]], rep_a)
    made = {}
    for who, rep in (("a", rep_a), ("b", rep_b)):
        contact = admin.create("contact", {"name": f"联系人{who}", "customer": str(customer["id"])})
        activity = admin.create("activity", {"subject": f"拜访{who}", "type": "visit", "customer": str(customer["id"]),
                                             "due_at": f"2026-0{3 if who == 'a' else 4}-01T10:00"})
        feedback = admin.create("feedback", {"subject": f"反馈{who}", "customer": str(customer["id"]), "type": "complaint",
                                             "received_at": "2026-02-01T09:00", "department": "service",
                                             "content": "开机慢"})
        for entity, record in (("contact", contact), ("activity", activity), ("feedback", feedback)):
            admin.ownership.assign(entity, [record["id"]], rep)
        made[who] = {"contact": contact, "activity": activity, "feedback": feedback}
    return site, customer, rep_a, rep_b, made


def test_the_customer_timeline_merges_related_records_the_viewer_may_read(real_app):
    site, customer, rep_a, rep_b, made = customer_world(real_app)
    rep = signed_in(real_app, "rep_a")
    page = soup(rep.get(f"/app/customer/{customer['id']}"))
    timeline = page.doc.select_one("#timeline")
    assert timeline["data-kind"] == "timeline"
    items = [(li["data-entity"], li.select_one("a").get_text(strip=True)) for li in timeline.select("li.tl-record")]
    # rep A's contact, activity and feedback; nothing of rep B's (the same customer, not theirs)
    assert sorted(items) == [("activity", "拜访a"), ("contact", "联系人a"), ("feedback", "反馈a")]
    # newest first: the contact (created now), the activity of March, the feedback of February
    assert [e for e, _ in items] == ["contact", "activity", "feedback"]
    text = text_of(timeline)
    assert "2026-03-01 10:00 Activity 拜访a Not started" in text and "2026-02-01 09:00 Customer feedback 反馈a New" in text
    assert "拜访b" not in text and "钱二" not in text
    assert_readable(text)
    # the administrator sees every one of them, and the customer's own history
    client = Client(real_app.test_client())
    client.login()
    everything = soup(client.get(f"/app/customer/{customer['id']}")).doc.select_one("#timeline")
    assert len(everything.select("li.tl-record")) == 6
    assert [li["data-action"] for li in everything.select("li.tl-change")] == ["update", "create"]  # assigned, created


def test_the_timeline_pages_with_show_more(real_app):
    site = site_of(real_app)
    admin = admin_of(real_app)
    customer = admin.create("customer", {"name": "多联系人公司"})
    for i in range(25):
        admin.create("contact", {"name": f"联系人{i:02d}", "customer": str(customer["id"])})
    client = Client(real_app.test_client())
    client.login()
    page = soup(client.get(f"/app/customer/{customer['id']}"))
    assert len(page["#timeline li"]) == 20
    more = page["#timeline .more a"][0]
    assert more["hx-get"] == more["href"] == f"/app/customer/{customer['id']}/timeline?limit=40"
    partial = soup(client.get(more["href"], headers={"HX-Request": "true"}))
    assert len(partial["#timeline li"]) == 26 and not partial["#timeline .more"] and not partial["html"]
    full = soup(client.get(more["href"]))  # without JavaScript: a page of its own
    assert full["header.topbar"] and len(full["#timeline li"]) == 26


def test_the_timeline_costs_one_query_per_source_whatever_the_rows(real_app):
    site = site_of(real_app)
    admin = admin_of(real_app)
    few = admin.create("customer", {"name": "少"})
    many = admin.create("customer", {"name": "多"})
    admin.create("contact", {"name": "一", "customer": str(few["id"])})
    for i in range(12):
        admin.create("contact", {"name": f"人{i}", "customer": str(many["id"])})
        admin.create("activity", {"subject": f"事{i}", "type": "call", "customer": str(many["id"]), "due_at": "2026-03-01T10:00"})
    statements = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    sa.event.listen(site.engine, "before_cursor_execute", count)
    try:
        Timeline(admin).entries("customer", few["id"])
        cost_few = len(statements)
        statements.clear()
        Timeline(admin).entries("customer", many["id"])
        cost_many = len(statements)
    finally:
        sa.event.remove(site.engine, "before_cursor_execute", count)
    assert cost_few == cost_many
    assert cost_many <= len(site.metadata.layout("customer", "detail").timeline) + 4


def test_a_record_without_a_timeline_shows_its_history(client):
    record = admin_of(client.application).create("account", {"name": "Alpha"})
    client.login()
    timeline = soup(client.get(f"/app/account/{record['id']}")).doc.select_one("#timeline")
    assert timeline["data-kind"] == "history" and timeline.select_one("h2").get_text(strip=True) == "History"


# -------------------------------------------------------------- related lists
def test_empty_related_lists_collapse_to_one_line_and_unreadable_ones_are_left_out(real_app):
    site, customer, rep_a, rep_b, made = customer_world(real_app)
    rep = signed_in(real_app, "rep_a")
    page = soup(rep.get(f"/app/customer/{customer['id']}"))
    full = {s["id"] for s in page["section.related"]}
    assert {"related-contact-customer", "related-activity-customer", "related-feedback-customer"} <= full
    collapsed = page["section.related-empty li.related"]
    assert "related-quote-customer" in {li["id"] for li in collapsed}
    for li in collapsed:  # one line: the title, and "+ New" where the rep may create
        assert not li.select("table")
    quote_line = next(li for li in collapsed if li["id"] == "related-quote-customer")
    assert quote_line.select_one("a")["href"] == f"/app/quote/new?customer={customer['id']}"  # the parent filled in
    # a rep reads no repair orders: that list is not offered at all
    assert not page["#related-repair_order-customer"]


def test_dispatch_skills_and_exports_read_as_sentences(real_app):
    site = site_of(real_app)
    admin = admin_of(real_app)
    eng = add_user(real_app, "eng", ["service_engineer"], name="吴工")
    other = add_user(real_app, "eng2", ["service_engineer"], name="孙工")
    admin.dispatch.set_attributes("service_request", eng, "skill", ["repair", "installation"])
    customer = admin.create("customer", {"name": "华信电子有限公司"})
    request = admin.create("service_request", {"subject": "打印机卡纸", "customer": str(customer["id"]), "type": "repair",
                                               "priority": "normal", "description": "卡纸"})
    assert request["engineer"] == eng  # the skilled engineer took it by the rule
    admin.dispatch.assign("service_request", request["id"], other, request["row_version"])
    from kehu.records.query import Filter, ListQuery
    _fields, rows = admin.export("service_request", ListQuery(filters=[Filter("type", "eq", ("repair",), ("repair",))]),
                                 ["subject"])
    list(rows)
    client = Client(real_app.test_client())
    client.login()
    sentences = [text_of(td) for td in soup(client.get("/-/admin/audit"))["#audit td.detail"]]
    assert sentences[:4] == [
        "Exported 1 Service request as CSV, filtered by Service type",
        "Reassigned 打印机卡纸 from 吴工 to 孙工",
        "Dispatched 打印机卡纸 to 吴工 by the rule “Engineers skilled in the service type take turns”",
        "Set the Service type of 吴工: Installation & setup, Repair",
    ]
    for sentence in sentences[:4]:
        assert_readable(sentence)
