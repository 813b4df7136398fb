"""Approval pages through Flask's test client over the real packs: the record's approval
panel (submit, approve, reject, recall, reassign), locking while pending, the inbox and its
filters, delegation, the read-only workflow pages for administrators, Chinese labels and CSRF.

The organisation: 总部 (head office, managed by the general manager Grace) above 销售部
(sales, managed by the sales manager Mark) with the reps Rita and Colin; plus the admin.
The quote_discount workflow sends a quote with more than 10% discount to the submitter's
department manager, and above 20% on to everyone with the role general_manager.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from kehu.org import OrgService
from kehu_testing import Client, soup

PASSWORD = "pw-secret-123"


# ------------------------------------------------------------------ helpers
def site_of(app):
    return app.extensions["kehu"]


@pytest.fixture
def org(real_app) -> dict:
    """Departments and users; returns their ids by short name."""
    site = site_of(real_app)
    admin = site.authenticate("admin", "secret-pw")
    orgs = OrgService(site, site.actor(admin), "en")
    top = orgs.create_department("总部", name_en="Head office")
    sales = orgs.create_department("销售部", name_en="Sales", parent_id=top)

    def user(username, name, roles, dept):
        return site.create_user(username, PASSWORD, name, roles=list(roles), department_id=dept, locale="en")

    ids = {
        "admin": admin["id"], "top": top, "sales": sales,
        "gm": user("gm", "Grace GM", ["general_manager"], top),
        "mgr": user("mgr", "Mark Manager", ["sales_manager"], sales),
        "rep": user("rep", "Rita Rep", ["sales_rep"], sales),
        "colleague": user("colin", "Colin Colleague", ["sales_rep"], sales),
    }
    d = site.tables.departments
    with site.writing() as c:
        c.execute(sa.update(d).where(d.c.id == top).values(manager_id=ids["gm"], code="HQ"))
        c.execute(sa.update(d).where(d.c.id == sales).values(manager_id=ids["mgr"], code="SALES"))
    return ids


def service_of(app, user_id, lang="en"):
    site = site_of(app)
    return site.records(site.actor(site.user(user_id)), lang)


def make_quote(app, owner_id, discount, subject="Server room upgrade") -> int:
    svc = service_of(app, owner_id)
    customer = svc.create("customer", {"name": f"Acme {subject}"})
    quote = svc.create("quote", {"subject": subject, "customer": customer["id"], "quote_date": dt.date.today(),
                                 "status": "draft", "discount_percent": discount})
    return quote["id"]


def signed_in(app, username, password=PASSWORD, lang="en") -> Client:
    client = Client(app.test_client())
    response = client.login(username, password, lang=lang)
    assert response.status_code == 302, username
    return client


def quote_row(app, quote_id) -> dict:
    site = site_of(app)
    table = site.tables["quote"]
    with site.reading() as c:
        return dict(c.execute(sa.select(table).where(table.c.id == quote_id)).mappings().one())


def tasks(app, quote_id) -> list[dict]:
    site = site_of(app)
    tk, a = site.tables.approval_task, site.tables.approval
    with site.reading() as c:
        return [dict(r) for r in c.execute(
            sa.select(tk).select_from(tk.join(a, a.c.id == tk.c.approval_id))
            .where(a.c.entity == "quote", a.c.record_id == quote_id).order_by(tk.c.id)).mappings()]


def pending_task(app, quote_id, user_id) -> int:
    found = [t["id"] for t in tasks(app, quote_id) if t["assignee_id"] == user_id and t["state"] == "pending"]
    assert len(found) == 1, tasks(app, quote_id)
    return found[0]


def approval_id(app, quote_id) -> int:
    site = site_of(app)
    a = site.tables.approval
    with site.reading() as c:
        return c.execute(sa.select(a.c.id).where(a.c.entity == "quote", a.c.record_id == quote_id)
                         .order_by(a.c.id.desc())).scalars().first()


def detail(client, quote_id):
    response = client.get(f"/app/quote/{quote_id}")
    assert response.status_code == 200
    return soup(response)


def submit(client, quote_id, comment="Please approve"):
    return client.post_form(f"/app/quote/{quote_id}/-/submit", {"comment": comment, "origin": "record"}, htmx=True)


def inbox_rows(client, query="") -> list[list[str]]:
    page = soup(client.get("/-/approvals" + query))
    return [[td.get_text(" ", strip=True) for td in tr.select("td")] for tr in page["table.inbox tbody tr"]]


def flashes(page) -> str:
    return page.text(".flashes")


def timeline_items(page, action) -> list[str]:
    return [li.get_text(" ", strip=True) for li in page["section.timeline li"]
            if li.select_one(f"span.approval-event[data-action={action}]")]


# ------------------------------------------------------------------ submit and lock
def test_submit_button_shows_only_when_a_workflow_applies(real_app, org):
    above = make_quote(real_app, org["rep"], 15, "Fifteen percent")
    below = make_quote(real_app, org["rep"], 5, "Five percent")
    rep = signed_in(real_app, "rep")

    page = detail(rep, above)
    form = page["section#approval form.submit-approval"]
    assert len(form) == 1
    assert form[0]["action"] == f"/app/quote/{above}/-/submit"
    assert "Submit for approval" in page.text("section#approval")
    assert "Quote discount approval" in page.text("section#approval")

    page = detail(rep, below)
    assert page["form.submit-approval"] == [] and page["section#approval"] == []


def test_a_refused_submit_shows_its_reason_in_the_panel(real_app, org):
    """The rep has the page open with the submit button; meanwhile the discount drops to 5%,
    so no workflow applies any more. The refusal must say so in the panel it replaces."""
    quote = make_quote(real_app, org["rep"], 15)
    rep = signed_in(real_app, "rep")
    assert detail(rep, quote)["form.submit-approval"]
    row = quote_row(real_app, quote)
    service_of(real_app, org["rep"]).update("quote", quote, {"discount_percent": 5}, row["row_version"])

    refused = submit(rep, quote)
    assert refused.status_code == 409
    assert approval_id(real_app, quote) is None
    panel = soup(refused)
    # the answer replaces section#approval (hx-swap=outerHTML): it must carry the message
    assert "No approval applies to this quote" in panel.text("section#approval .alert.error")


def test_submitting_locks_the_record_until_it_is_decided(real_app, org):
    quote = make_quote(real_app, org["rep"], 15)
    rep = signed_in(real_app, "rep")
    response = submit(rep, quote, "Big customer")
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/app/quote/{quote}"

    page = detail(rep, quote)
    assert "Submitted for approval: Quote discount approval." in flashes(page)
    actions = page[".title-row .actions"][0]
    assert actions.select_one("span.locked").get_text(strip=True) == "Locked for approval"
    assert actions.select(f"a[href='/app/quote/{quote}/edit']") == []
    assert actions.select(f"form[action='/app/quote/{quote}/delete']") == []
    assert page.text("[data-field=status] dd") == "Pending approval"
    assert page["section#approval"][0]["data-state"] == "pending"
    assert page["section#approval form.recall"] and not page["section#approval form.submit-approval"]
    assert page["section#approval form.decide"] == []  # the submitter does not decide
    steps = [(li["data-step"], li["class"]) for li in page["section#approval ol.steps > li"]]
    assert steps == [("sales_manager", ["step", "step-current"]), ("general_manager", ["step", "step-upcoming"])]
    assert "Mark Manager" in page.text("li[data-step=sales_manager]")
    submitted = timeline_items(page, "submit")
    assert len(submitted) == 1 and "Rita Rep" in submitted[0] and "Big customer" in submitted[0]

    row = quote_row(real_app, quote)
    assert row["status"] == "pending_approval" and row["workflow_state"] == "pending"

    assert rep.get(f"/app/quote/{quote}/edit").status_code == 423
    edit = rep.post_form(f"/app/quote/{quote}/edit", {
        "subject": "Changed while pending", "customer": str(row["customer"]), "quote_date": row["quote_date"].isoformat(),
        "status": "draft", "discount_percent": "5", "row_version": str(row["row_version"]), "action": "save"})
    assert edit.status_code == 423
    assert rep.post_form(f"/app/quote/{quote}/delete").status_code == 423
    after = quote_row(real_app, quote)
    assert after["subject"] == "Server room upgrade" and after["discount_percent"] == 15 and after["deleted_at"] is None

    # a second submit is refused in the panel
    again = submit(rep, quote)
    assert again.status_code == 409
    assert "already waiting for approval" in soup(again).text(".alert.error")


def test_submit_without_an_approver_is_refused_in_the_panel(real_app, org):
    site = site_of(real_app)
    lonely = OrgService(site, site.actor(site.authenticate("admin", "secret-pw")), "en").create_department("驻外办")
    site.create_user("lone", PASSWORD, "Lone Rep", roles=["sales_rep"], department_id=lonely, locale="en")
    lone_id = site.authenticate("lone", PASSWORD)["id"]
    quote = make_quote(real_app, lone_id, 15)
    client = signed_in(real_app, "lone")
    refused = client.post_form(f"/app/quote/{quote}/-/submit", {"comment": "Urgent one", "origin": "record"}, htmx=True)
    assert refused.status_code == 409
    panel = soup(refused)
    assert "has no approver" in panel.text("section#approval .alert.error")
    assert panel["form.submit-approval input[name=comment]"][0]["value"] == "Urgent one"
    assert approval_id(real_app, quote) is None
    assert quote_row(real_app, quote)["status"] == "draft"


def test_refused_action_without_htmx_is_a_flash_and_a_redirect(real_app, org):
    below = make_quote(real_app, org["rep"], 5)
    rep = signed_in(real_app, "rep")
    response = rep.post_form(f"/app/quote/{below}/-/submit", {"origin": "record"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/app/quote/{below}")
    page = soup(rep.get(response.headers["Location"]))
    assert "No approval applies to this quote" in page.text(".flashes .alert.error")


# ------------------------------------------------------------------ inbox
def test_inbox_lists_the_task_and_filters(real_app, org):
    quote = make_quote(real_app, org["rep"], 15)
    rep = signed_in(real_app, "rep")
    assert submit(rep, quote).status_code == 204
    mgr = signed_in(real_app, "mgr")

    page = soup(mgr.get("/-/approvals"))
    assert page.text("nav.tabs-nav a.current").startswith("Waiting for me")
    assert page.text("#inbox-waiting") == "1"
    rows = page["table.inbox tbody tr"]
    assert len(rows) == 1 and rows[0]["data-record"] == f"quote-{quote}"
    cells = [td.get_text(" ", strip=True) for td in rows[0].select("td")]
    assert cells[0] == "Server room upgrade Quote"
    assert cells[1:4] == ["Quote discount approval", "Sales manager approval", "Rita Rep"]
    assert rows[0].select_one(f"a[href='/app/quote/{quote}']")
    form = rows[0].select_one("form.inbox-decide")
    task = pending_task(real_app, quote, org["mgr"])
    assert form["action"] == f"/-/approvals/tasks/{task}/approve"
    assert form.select_one("input[name=origin]")["value"] == "inbox"
    assert form.select_one("input[name=comment]") is not None
    assert form.select_one("button.danger")["formaction"] == f"/-/approvals/tasks/{task}/reject"

    assert len(inbox_rows(mgr, "?tab=waiting&entity=quote")) == 1
    assert inbox_rows(mgr, "?tab=waiting&entity=sales_order") == []
    assert len(inbox_rows(mgr, "?tab=waiting&workflow=quote_discount")) == 1
    assert inbox_rows(mgr, "?tab=waiting&workflow=order_signoff") == []
    assert len(inbox_rows(mgr, "?tab=waiting&entity=no_such_thing")) == 1  # an unknown filter is ignored
    none_overdue = soup(mgr.get("/-/approvals?tab=waiting&overdue=1"))
    assert none_overdue["table.inbox tbody tr"] == []
    assert "Nothing waits for you." in none_overdue.text("p.empty")
    assert none_overdue["input[name=overdue][checked]"]

    # once past the step's time limit, the overdue filter finds it and the row is flagged
    site = site_of(real_app)
    tk = site.tables.approval_task
    with site.writing() as c:
        c.execute(sa.update(tk).where(tk.c.id == task).values(due_at=dt.datetime.now() - dt.timedelta(hours=1)))
    overdue = soup(mgr.get("/-/approvals?tab=waiting&overdue=1"))
    assert [tr["data-record"] for tr in overdue["table.inbox tbody tr.overdue"]] == [f"quote-{quote}"]
    assert "overdue" in overdue.text("table.inbox tbody tr .flag")

    # the rep waits for nobody; their submitted tab lists it
    assert inbox_rows(rep) == []
    submitted = inbox_rows(rep, "?tab=submitted")
    assert len(submitted) == 1 and "Waiting for approval" in submitted[0]
    assert inbox_rows(mgr, "?tab=decided") == []


def test_two_steps_approved_from_the_inbox_and_the_record(real_app, org):
    quote = make_quote(real_app, org["rep"], 25)
    rep = signed_in(real_app, "rep")
    assert submit(rep, quote).status_code == 204

    # the sales manager approves from the inbox (plain form post)
    mgr = signed_in(real_app, "mgr")
    task = pending_task(real_app, quote, org["mgr"])
    response = mgr.post_form(f"/-/approvals/tasks/{task}/approve", {"comment": "OK from sales", "origin": "inbox"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/-/approvals")
    page = soup(mgr.get("/-/approvals"))
    assert "Approved. It moves on to the next step." in flashes(page)
    assert page["table.inbox tbody tr"] == []
    decided = inbox_rows(mgr, "?tab=decided")
    assert len(decided) == 1 and "approved" in decided[0] and "Sales manager approval" in decided[0]
    row = quote_row(real_app, quote)
    assert row["status"] == "pending_approval" and row["workflow_state"] == "pending"

    # it waits for the general manager now
    gm = signed_in(real_app, "gm")
    rows = inbox_rows(gm)
    assert len(rows) == 1 and rows[0][2] == "General manager approval"
    page = detail(gm, quote)
    assert [li["class"][-1] for li in page["section#approval ol.steps > li"]] == ["step-approved", "step-current"]
    decide = page["section#approval form.decide"]
    assert len(decide) == 1
    gm_task = pending_task(real_app, quote, org["gm"])
    assert decide[0].select_one("button.primary")["hx-post"] == f"/-/approvals/tasks/{gm_task}/approve"
    response = gm.post_form(f"/-/approvals/tasks/{gm_task}/approve", {"comment": "Fine, strategic account",
                                                                     "origin": "record"}, htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/app/quote/{quote}"

    row = quote_row(real_app, quote)
    assert row["status"] == "approved" and row["workflow_state"] == "approved"
    page = detail(rep, quote)
    assert page.text("[data-field=status] dd") == "Approved"
    assert page["span.locked"] == [] and page[f".title-row a[href='/app/quote/{quote}/edit']"]
    assert rep.get(f"/app/quote/{quote}/edit").status_code == 200
    assert page["section#approval"][0]["data-state"] == "approved"
    assert "Approved" in page.text("section#approval h2 .state")
    approvals = timeline_items(page, "approve")
    assert len(approvals) == 2
    assert "Grace GM" in approvals[0] and "General manager approval" in approvals[0] and "Fine, strategic account" in approvals[0]
    assert "Mark Manager" in approvals[1] and "Sales manager approval" in approvals[1] and "OK from sales" in approvals[1]
    assert len(timeline_items(page, "approved")) == 1


def test_one_step_when_the_discount_is_below_twenty(real_app, org):
    quote = make_quote(real_app, org["rep"], 15)
    rep = signed_in(real_app, "rep")
    assert submit(rep, quote).status_code == 204
    mgr = signed_in(real_app, "mgr")
    task = pending_task(real_app, quote, org["mgr"])
    response = mgr.post_form(f"/-/approvals/tasks/{task}/approve", {"origin": "record"}, htmx=True)
    assert response.status_code == 204
    page = detail(mgr, quote)
    assert "Approved. The approval is complete." in flashes(page)
    assert quote_row(real_app, quote)["status"] == "approved"
    assert [li["class"][-1] for li in page["section#approval ol.steps > li"]] == ["step-approved", "step-skipped"]
    assert inbox_rows(signed_in(real_app, "gm")) == []


# ------------------------------------------------------------------ reject
def test_reject_needs_a_comment_and_then_sends_it_back_to_draft(real_app, org):
    quote = make_quote(real_app, org["rep"], 15)
    rep = signed_in(real_app, "rep")
    assert submit(rep, quote).status_code == 204
    mgr = signed_in(real_app, "mgr")
    task = pending_task(real_app, quote, org["mgr"])
    page = detail(mgr, quote)
    reject = page["section#approval form.decide button.danger"][0]
    assert reject["formaction"] == reject["hx-post"] == f"/-/approvals/tasks/{task}/reject"

    # from the record page: the panel again, 422, the message, the comment as typed
    refused = mgr.post_form(f"/-/approvals/tasks/{task}/reject", {"comment": "   ", "origin": "record"}, htmx=True)
    assert refused.status_code == 422
    panel = soup(refused)
    assert panel.doc.find().name == "section" and panel.doc.find()["id"] == "approval"
    assert "Say why you reject it." in panel.text(".alert.error")
    textarea = panel["form.decide textarea[name=comment]"][0]
    assert textarea.get("aria-invalid") == "true"
    assert textarea.get_text() == "   "
    assert panel["form.decide button.primary"] and panel["form.decide button.danger"]
    assert quote_row(real_app, quote)["workflow_state"] == "pending"
    assert tasks(real_app, quote)[0]["state"] == "pending"

    # from the inbox: a flash and back to the inbox
    refused = mgr.post_form(f"/-/approvals/tasks/{task}/reject", {"comment": "", "origin": "inbox"})
    assert refused.status_code == 303 and refused.headers["Location"].endswith("/-/approvals")
    page = soup(mgr.get("/-/approvals"))
    assert "Say why you reject it." in page.text(".flashes .alert.error")
    assert len(page["table.inbox tbody tr"]) == 1

    response = mgr.post_form(f"/-/approvals/tasks/{task}/reject", {"comment": "Too much, 8% at most",
                                                                  "origin": "record"}, htmx=True)
    assert response.status_code == 204
    row = quote_row(real_app, quote)
    assert row["status"] == "draft" and row["workflow_state"] == "rejected"
    page = detail(rep, quote)
    assert page["section#approval"][0]["data-state"] == "rejected"
    assert page.text("[data-field=status] dd") == "Draft"
    assert page["span.locked"] == [] and rep.get(f"/app/quote/{quote}/edit").status_code == 200
    rejected = timeline_items(page, "reject")
    assert len(rejected) == 1 and "Mark Manager" in rejected[0] and "Too much, 8% at most" in rejected[0]
    assert [li["class"][-1] for li in page["section#approval ol.steps > li"]][0] == "step-rejected"
    assert inbox_rows(mgr) == []


# ------------------------------------------------------------------ recall, strangers
def test_recall_by_the_submitter(real_app, org):
    quote = make_quote(real_app, org["rep"], 25)
    rep = signed_in(real_app, "rep")
    assert submit(rep, quote).status_code == 204
    task = pending_task(real_app, quote, org["mgr"])
    page = detail(rep, quote)
    recall = page["section#approval form.recall"][0]
    the_approval = approval_id(real_app, quote)
    assert recall["hx-post"] == f"/-/approvals/{the_approval}/recall"
    response = rep.post_form(f"/-/approvals/{the_approval}/recall", {"comment": "Price changes coming",
                                                                    "origin": "record"}, htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/app/quote/{quote}"

    page = detail(rep, quote)
    assert "Recalled." in flashes(page)
    row = quote_row(real_app, quote)
    assert row["status"] == "draft" and row["workflow_state"] == "recalled"
    assert page["section#approval"][0]["data-state"] == "recalled"
    assert page["section#approval form.submit-approval"] and not page["section#approval form.recall"]
    assert page["span.locked"] == []
    recalled = timeline_items(page, "recall")
    assert len(recalled) == 1 and "Rita Rep" in recalled[0] and "Price changes coming" in recalled[0]

    # the manager's task is gone from the inbox, and deciding it now is refused
    mgr = signed_in(real_app, "mgr")
    assert inbox_rows(mgr) == []
    late = mgr.post_form(f"/-/approvals/tasks/{task}/approve", {"origin": "inbox"})
    assert late.status_code == 303
    assert "your decision was not recorded" in soup(mgr.get("/-/approvals")).text(".flashes .alert.error")
    # recalling twice is refused
    again = rep.post_form(f"/-/approvals/{the_approval}/recall", {"origin": "record"}, htmx=True)
    assert again.status_code == 409 and "already finished" in soup(again).text(".alert.error")


def test_a_colleague_can_neither_decide_nor_recall(real_app, org):
    quote = make_quote(real_app, org["rep"], 15)
    rep = signed_in(real_app, "rep")
    assert submit(rep, quote).status_code == 204
    task = pending_task(real_app, quote, org["mgr"])
    the_approval = approval_id(real_app, quote)

    colin = signed_in(real_app, "colin")
    assert colin.get(f"/app/quote/{quote}").status_code == 404
    for decision in ("approve", "reject"):
        for htmx in (False, True):
            response = colin.post_form(f"/-/approvals/tasks/{task}/{decision}", {"comment": "sneaky", "origin": "record"},
                                       htmx=htmx)
            assert response.status_code == 404, (decision, htmx)
    assert colin.post_form(f"/-/approvals/{the_approval}/recall", {"origin": "record"}, htmx=True).status_code == 404
    assert colin.post_form(f"/-/approvals/tasks/{task}/reassign", {"user_id": str(org["colleague"])}).status_code == 404
    assert colin.post_form("/-/approvals/tasks/999999/approve", {"origin": "inbox"}).status_code == 404
    # the submitter cannot decide their own approval either, and the manager cannot recall it:
    # both may read the record, so the answer is "not allowed" (a 403, not a redirect)
    for htmx in (False, True):
        own = rep.post_form(f"/-/approvals/tasks/{task}/approve", {"origin": "record"}, htmx=htmx)
        assert own.status_code == 403 and "only its approvers can decide it" in own.get_data(as_text=True)
    mgr = signed_in(real_app, "mgr")
    other = mgr.post_form(f"/-/approvals/{the_approval}/recall", {"origin": "record"})
    assert other.status_code == 403

    assert [t["state"] for t in tasks(real_app, quote)] == ["pending"]
    assert quote_row(real_app, quote)["workflow_state"] == "pending"
    assert inbox_rows(colin) == []


def test_a_stale_decision_is_refused_with_a_reload_message(real_app, org):
    """Two general managers share the `any` step: the second one's decision comes too late."""
    gm2 = site_of(real_app).create_user("gm2", PASSWORD, "Gary GM", roles=["general_manager"],
                                        department_id=org["top"], locale="en")
    quote = make_quote(real_app, org["rep"], 25)
    rep = signed_in(real_app, "rep")
    assert submit(rep, quote).status_code == 204
    mgr = signed_in(real_app, "mgr")
    mgr.post_form(f"/-/approvals/tasks/{pending_task(real_app, quote, org['mgr'])}/approve", {"origin": "inbox"})
    gm_task, gm2_task = pending_task(real_app, quote, org["gm"]), pending_task(real_app, quote, gm2)

    gary = signed_in(real_app, "gm2")
    page = detail(gary, quote)  # Gary has the page open ...
    assert page["section#approval form.decide"]
    gm = signed_in(real_app, "gm")  # ... while Grace approves
    assert gm.post_form(f"/-/approvals/tasks/{gm_task}/approve", {"origin": "inbox"}).status_code == 303
    assert {t["id"]: t["state"] for t in tasks(real_app, quote)}[gm2_task] == "cancelled"

    late = gary.post_form(f"/-/approvals/tasks/{gm2_task}/approve", {"comment": "Agreed", "origin": "record"}, htmx=True)
    assert late.status_code == 409
    panel = soup(late)
    assert "already been decided" in panel.text(".alert.error") and "Reload" in panel.text(".alert.error")
    assert panel["form.decide"] == []
    late = gary.post_form(f"/-/approvals/tasks/{gm2_task}/reject", {"comment": "No", "origin": "inbox"})
    assert late.status_code == 303
    assert "your decision was not recorded" in soup(gary.get("/-/approvals")).text(".flashes .alert.error")

    row = quote_row(real_app, quote)
    assert row["status"] == "approved" and row["workflow_state"] == "approved"
    page = detail(rep, quote)
    approvals = timeline_items(page, "approve")
    assert len(approvals) == 2 and not any("Gary GM" in text for text in approvals)
    assert timeline_items(page, "reject") == []


def test_a_stale_decision_comment_does_not_become_a_submit_note(real_app, org):
    """The refused late approver's panel must not offer their decision comment as the note of
    a new submission of the record that was just approved."""
    gm2 = site_of(real_app).create_user("gm2", PASSWORD, "Gary GM", roles=["general_manager"],
                                        department_id=org["top"], locale="en")
    quote = make_quote(real_app, org["rep"], 25)
    assert submit(signed_in(real_app, "rep"), quote).status_code == 204
    signed_in(real_app, "mgr").post_form(f"/-/approvals/tasks/{pending_task(real_app, quote, org['mgr'])}/approve",
                                         {"origin": "inbox"})
    gm_task, gm2_task = pending_task(real_app, quote, org["gm"]), pending_task(real_app, quote, gm2)
    signed_in(real_app, "gm").post_form(f"/-/approvals/tasks/{gm_task}/approve", {"origin": "inbox"})

    late = signed_in(real_app, "gm2").post_form(f"/-/approvals/tasks/{gm2_task}/approve",
                                                {"comment": "Agreed, go ahead", "origin": "record"}, htmx=True)
    assert late.status_code == 409
    notes = [i.get("value") for i in soup(late)["section#approval form.submit-approval input[name=comment]"]]
    assert "Agreed, go ahead" not in notes


# ------------------------------------------------------------------ reassign
def test_admin_reassigns_a_task_from_the_panel(real_app, org):
    quote = make_quote(real_app, org["rep"], 15)
    rep = signed_in(real_app, "rep")
    assert submit(rep, quote).status_code == 204
    task = pending_task(real_app, quote, org["mgr"])

    mgr = signed_in(real_app, "mgr")
    assert detail(mgr, quote)["form.reassign"] == []
    assert mgr.post_form(f"/-/approvals/tasks/{task}/reassign", {"user_id": str(org["gm"]), "origin": "record"},
                         htmx=True).status_code == 403

    admin = signed_in(real_app, "admin", "secret-pw")
    page = detail(admin, quote)
    form = page["section#approval form.reassign"]
    assert len(form) == 1 and form[0]["hx-post"] == f"/-/approvals/tasks/{task}/reassign"
    options = {o.get_text(strip=True): o["value"] for o in form[0].select("select[name=user_id] option")}
    assert "Grace GM" in options and "Mark Manager" not in options  # not to the one who has it
    assert page["span.locked"] == [] and page[f".title-row a[href='/app/quote/{quote}/edit']"]  # admins may edit

    bad = admin.post_form(f"/-/approvals/tasks/{task}/reassign", {"user_id": "999999", "origin": "record"}, htmx=True)
    assert bad.status_code == 422 and "Choose an active user." in soup(bad).text(".alert.error")
    response = admin.post_form(f"/-/approvals/tasks/{task}/reassign", {"user_id": options["Grace GM"],
                                                                      "comment": "Mark is away", "origin": "record"},
                               htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/app/quote/{quote}"
    page = detail(admin, quote)
    assert "Reassigned." in flashes(page)
    assert "Grace GM" in page.text("li[data-step=sales_manager]")
    reassigned = timeline_items(page, "reassign")
    assert len(reassigned) == 1
    assert "from Mark Manager to Grace GM" in reassigned[0] and "Mark is away" in reassigned[0]

    assert inbox_rows(mgr) == []
    gm = signed_in(real_app, "gm")
    rows = inbox_rows(gm)
    assert len(rows) == 1 and rows[0][2] == "Sales manager approval"
    assert gm.post_form(f"/-/approvals/tasks/{task}/approve", {"origin": "inbox"}).status_code == 303
    assert quote_row(real_app, quote)["status"] == "approved"


def test_a_decision_after_the_task_was_reassigned_away_is_answered_in_the_panel(real_app, org):
    """Mark has the record open with Approve / Reject; meanwhile the admin hands his task to
    Grace. His click must get the panel back with a message: htmx does not swap a 404 (see
    the htmx-config in base.html), so a bare 404 leaves him with a button that does nothing."""
    quote = make_quote(real_app, org["rep"], 15)
    assert submit(signed_in(real_app, "rep"), quote).status_code == 204
    task = pending_task(real_app, quote, org["mgr"])
    mgr = signed_in(real_app, "mgr")
    assert detail(mgr, quote)["section#approval form.decide"]
    admin = signed_in(real_app, "admin", "secret-pw")
    assert admin.post_form(f"/-/approvals/tasks/{task}/reassign", {"user_id": str(org["gm"]), "origin": "record"},
                           htmx=True).status_code == 204

    late = mgr.post_form(f"/-/approvals/tasks/{task}/approve", {"comment": "Fine", "origin": "record"}, htmx=True)
    assert tasks(real_app, quote)[0]["state"] == "pending"  # nothing recorded for Mark
    assert late.status_code in (409, 422), late.status_code
    panel = soup(late)
    assert panel["section#approval .alert.error"] and panel["section#approval form.decide"] == []


# ------------------------------------------------------------------ delegation
def test_delegation_create_validate_list_and_end(real_app, org):
    mgr = signed_in(real_app, "mgr")
    page = soup(mgr.get("/-/delegation"))
    names = [o.get_text(strip=True) for o in page["select[name=delegate_id] option"]]
    assert "Grace GM" in names and "Mark Manager" not in names
    assert page["table.list"] == [] and "No delegations." in page.text("main")

    bad = mgr.post_form("/-/delegation", {"delegate_id": "", "starts_on": "2030-05-10", "ends_on": "2030-05-01"})
    assert bad.status_code == 422
    page = soup(bad)
    assert page.text(".alert.error") == "Please correct the marked fields."
    errors = [e.get_text(strip=True) for e in page[".field-error"]]
    assert "Choose someone else." in errors and "The end cannot be before the start." in errors
    assert page["input[name=starts_on]"][0]["value"] == "2030-05-10"
    assert page["input[name=ends_on]"][0]["value"] == "2030-05-01"
    assert page["select[name=delegate_id]"][0].get("aria-invalid") == "true"

    bad = mgr.post_form("/-/delegation", {"delegate_id": str(org["gm"]), "starts_on": "next week", "ends_on": ""})
    assert bad.status_code == 422
    page = soup(bad)
    assert [e.get_text(strip=True) for e in page[".field-error"]] == ["Enter a date (YYYY-MM-DD).", "Enter a date (YYYY-MM-DD)."]
    assert page["select[name=delegate_id] option[selected]"][0]["value"] == str(org["gm"])
    assert page["input[name=starts_on]"][0]["value"] == "next week"
    assert mgr.post_form("/-/delegation", {"delegate_id": str(org["mgr"]), "starts_on": "2030-05-01",
                                           "ends_on": "2030-05-02"}).status_code == 422

    today = dt.date.today()
    response = mgr.post_form("/-/delegation", {"delegate_id": str(org["gm"]), "starts_on": today.isoformat(),
                                               "ends_on": (today + dt.timedelta(days=7)).isoformat()})
    assert response.status_code == 303 and response.headers["Location"].endswith("/-/delegation")
    page = soup(mgr.get("/-/delegation"))
    assert "Delegation saved." in flashes(page)
    rows = [[td.get_text(" ", strip=True) for td in tr.select("td")] for tr in page["table.list tbody tr"]]
    assert rows == [["Grace GM", today.isoformat(), (today + dt.timedelta(days=7)).isoformat(), "End"]]

    # while it runs, the manager's approvals go to the delegate, for the manager
    quote = make_quote(real_app, org["rep"], 15)
    assert submit(signed_in(real_app, "rep"), quote).status_code == 204
    task = pending_task(real_app, quote, org["gm"])
    assert inbox_rows(mgr) == []
    gm = signed_in(real_app, "gm")
    assert len(inbox_rows(gm)) == 1
    page = detail(gm, quote)
    assert "(for Mark Manager)" in page.text("li[data-step=sales_manager]")
    assert gm.post_form(f"/-/approvals/tasks/{task}/approve", {"origin": "inbox"}).status_code == 303
    approved = timeline_items(detail(gm, quote), "approve")
    assert len(approved) == 1 and "Grace GM" in approved[0] and "for Mark Manager" in approved[0]

    # someone else cannot end it; the manager can
    end_url = page_action = soup(mgr.get("/-/delegation"))["table.list form"][0]["action"]
    assert page_action.startswith("/-/delegation/") and page_action.endswith("/end")
    assert signed_in(real_app, "rep").post_form(end_url).status_code == 404
    response = mgr.post_form(end_url)
    assert response.status_code == 303
    page = soup(mgr.get("/-/delegation"))
    assert "Delegation ended." in flashes(page)
    assert page["table.list"] == [] and "No delegations." in page.text("body")


# ------------------------------------------------------------------ workflow admin pages
def test_workflow_pages_are_for_administrators(real_app, org):
    admin = signed_in(real_app, "admin", "secret-pw")
    response = admin.get("/-/admin/workflows")
    assert response.status_code == 200
    page = soup(response)
    listed = {a["href"].rsplit("/", 1)[-1] for a in page["table.list tbody tr td:first-child a"]}
    assert listed == {"quote_discount", "order_signoff", "feedback_routing", "knowledge_review"}
    quote_row_text = next(tr.get_text(" ", strip=True) for tr in page["table.list tbody tr"] if "quote_discount" in tr.get_text())
    assert "Quote discount approval" in quote_row_text and "discount_percent > 10" in quote_row_text

    page = soup(admin.get("/-/admin/workflows/quote_discount"))
    assert "Quote discount approval" in page.text("h1")
    steps = [[td.get_text(" ", strip=True) for td in tr.select("td")] for tr in page["table.workflow-steps tbody tr"]]
    assert len(steps) == 2
    assert steps[0][1].startswith("Sales manager approval") and "the submitter's department manager" in steps[0][3]
    assert steps[0][4] == "any one" and steps[0][5] == "24 h"
    assert steps[1][1].startswith("General manager approval") and "the role General manager" in steps[1][3]
    assert "discount_percent > 20" in steps[1][2] and steps[1][5] == "48 h"
    assert "pending_approval" in page.text("section.card") and "Pending approval" in page.text("section.card")
    assert admin.get("/-/admin/workflows/no_such_workflow").status_code == 404

    for username in ("rep", "mgr", "gm"):
        client = signed_in(real_app, username)
        assert client.get("/-/admin/workflows").status_code == 403, username
        assert client.get("/-/admin/workflows/quote_discount").status_code == 403, username


# ------------------------------------------------------------------ Chinese, CSRF
def test_panel_and_inbox_in_chinese(real_app, org):
    quote = make_quote(real_app, org["rep"], 25)
    rep = signed_in(real_app, "rep", lang="zh")
    page = detail(rep, quote)
    panel = page.text("section#approval")
    assert "提交审批" in panel and "报价折扣审批" in panel and "审批" in page.text("section#approval h2")
    assert "Submit for approval" not in panel and "Quote discount approval" not in panel
    assert submit(rep, quote, "请审批").status_code == 204
    page = detail(rep, quote)
    assert flashes(page) == "已提交审批：报价折扣审批。"
    panel = page.text("section#approval")
    assert "销售经理审批" in panel and "总经理审批" in panel and "撤回" in panel
    assert page.text("span.locked") == "审批中，已锁定"
    assert page.text("[data-field=status] dd") == "待审批"
    for english in ("Waiting for approval", "submitted by", "in progress", "to come", "Recall", "waiting"):
        assert english not in panel, english
    assert "提交" in " ".join(timeline_items(page, "submit"))

    mgr = signed_in(real_app, "mgr", lang="zh")
    page = soup(mgr.get("/-/approvals"))
    assert "待我审批" in page.text("nav.tabs-nav") and "我已处理" in page.text("nav.tabs-nav")
    row = page.text("table.inbox tbody tr")
    assert "报价折扣审批" in row and "销售经理审批" in row and "同意" in row and "驳回" in row
    assert page["form.inbox-decide input[name=comment]"][0]["placeholder"] == "审批意见"
    for english in ("Approve", "Reject", "Waiting for me", "Quote discount approval", "Sales manager approval"):
        assert english not in page.text("main"), english
    page = detail(mgr, quote)
    assert "同意" in page.text("section#approval form.decide") and "驳回" in page.text("section#approval form.decide")
    assert "审批意见" in page.text("section#approval form.decide label")


def test_post_without_csrf_token_is_refused(real_app, org):
    quote = make_quote(real_app, org["rep"], 15)
    rep = signed_in(real_app, "rep")
    response = rep.c.post(f"/app/quote/{quote}/-/submit", data={"origin": "record"})
    assert response.status_code == 400
    assert approval_id(real_app, quote) is None
    assert submit(rep, quote).status_code == 204
    task = pending_task(real_app, quote, org["mgr"])
    mgr = signed_in(real_app, "mgr")
    assert mgr.c.post(f"/-/approvals/tasks/{task}/approve", data={"origin": "inbox"}).status_code == 400
    assert mgr.c.post(f"/-/approvals/{approval_id(real_app, quote)}/recall", data={}).status_code == 400
    assert mgr.c.post("/-/delegation", data={"delegate_id": str(org["gm"]), "starts_on": "2030-01-01",
                                             "ends_on": "2030-01-02"}).status_code == 400
    assert [t["state"] for t in tasks(real_app, quote)] == ["pending"]
