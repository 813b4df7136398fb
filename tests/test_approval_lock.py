"""The approval lock holds in every path, and approval routes give nothing away.

A record waiting for approval cannot be changed by its owner through any route: its own
form, its lines (which have no pages of their own), assign and bulk assign (by anyone:
its approvers were found from its owner), restore, attachments; an administrator's
transfer of a leaver's records leaves it where it is and says so. Sharing stays allowed
(it changes who may open the record, not the record). Deleting a record cancels its
pending approval. Approval routes answer one and the same 404 for what the user cannot
read and a 403 for what they may not do. Re-activating a user revives no old session.

The service-level tests run over the fixture pack (an account with lines and an attachment
field) with a workflow on the account; the page tests over the real packs' quote workflow.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa

from kehu.errors import Forbidden, Locked, NotFound, WorkflowError
from kehu.org import OrgService
from kehu_testing import FIXTURE_PACK, make_site, soup
from test_approvals_web import (PASSWORD, approval_id, make_quote, org, pending_task, quote_row, signed_in,  # noqa: F401
                                site_of, submit, tasks)
from test_workflows import APPROVALS_PACK, DEPARTMENTS, World, flow, write_flows

# the account's owners hold the fixture pack's roles; the boss approves
PEOPLE = {
    "admin": (None, (), True),
    "ed": ("east", ("editor",), True),
    "eve": ("east", ("editor",), True),
    "lead": ("east", ("manager",), True),
    "boss": ("sales", ("viewer",), True),
    "ceo": ("hq", (), True),
    "sales_boss": ("sales", (), True),
    "east_lead": ("east", (), True),
    "fin_boss": ("finance", (), True),
    "wh_boss": ("warehouse", (), True),
    "stranger": ("warehouse", ("rep",), True),
}

ACCOUNT_FLOW = flow("""
    - name: check
      label: {en: Boss check, zh: 老板审核}
      approvers: [{users: [boss]}]
""", name="account_check", entity="account", actions="on_submit: {set: {status: submitted}}\n"
                                                      "on_recall: {set: {status: draft}}\n")


@pytest.fixture
def world(db_url, tmp_path):
    site = make_site(db_url, tmp_path, packs=[FIXTURE_PACK, APPROVALS_PACK, write_flows(tmp_path / "flows", [ACCOUNT_FLOW])])
    yield World(site, DEPARTMENTS, PEOPLE, {"admin"})
    site.engine.dispose()


def account(w: World, who="ed", name="Acme", **values) -> dict:
    return w.svc(who).create("account", {"name": name, "lines": [{"item": "desk", "quantity": "2", "price": "10"}],
                                         **values})


def stored(w: World, rid: int, entity="account") -> dict:
    table = w.site.tables[entity]
    with w.site.reading() as c:
        return dict(c.execute(sa.select(table).where(table.c.id == rid)).mappings().one())


def upload(name="contract.txt", data=b"signed"):
    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(data), filename=name)


def attachment_files(w: World) -> list[str]:
    folder = w.site.attachments.folder
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ------------------------------------------------------------------ service level
def test_lines_are_changed_only_through_their_parent(world):
    """A line entity has no records of its own to change: creating, changing, deleting,
    restoring, assigning or sharing one directly is "no such page", for everyone."""
    w = world
    acme = account(w)
    line = acme["lines"][0]
    for who in ("ed", "admin"):
        svc = w.svc(who)
        for attempt in (lambda: svc.update("account_line", line["id"], {"item": "chair"}, line["row_version"]),
                        lambda: svc.delete("account_line", line["id"]),
                        lambda: svc.restore("account_line", line["id"]),
                        lambda: svc.create("account_line", {"account": acme["id"], "item": "extra"}),
                        lambda: svc.ownership.assign("account_line", [line["id"]], w.ids["eve"]),
                        lambda: svc.ownership.share("account_line", line["id"], "user", w.ids["eve"], "read")):
            with pytest.raises(NotFound, match="No such page: account_line"):
                attempt()
    assert w.svc("admin").get("account", acme["id"])["lines"] == acme["lines"]


def test_a_pending_record_and_its_lines_are_locked_in_every_path(world):
    w = world
    acme = account(w, contract=upload())
    other = account(w, name="Other Co")
    w.submit(acme["id"], "ed", entity="account")
    before = stored(w, acme["id"])
    lines_before = w.svc("admin").get("account", acme["id"])["lines"]
    files_before = attachment_files(w)
    assert before["workflow_state"] == "pending" and len(files_before) == 1

    ed = w.svc("ed")
    version = before["row_version"]
    line = lines_before[0]
    for attempt in (
        lambda: ed.update("account", acme["id"], {"notes": "changed"}, version),
        lambda: ed.update("account", acme["id"], {"lines": [{"id": line["id"], "quantity": "9"}]}, version),
        lambda: ed.update("account", acme["id"], {"lines": []}, version),
        lambda: ed.update("account", acme["id"], {"contract": upload("new.txt", b"replaced")}, version),  # upload
        lambda: ed.update("account", acme["id"], {"contract": None}, version),  # removal
        lambda: ed.delete("account", acme["id"]),
    ):
        with pytest.raises(Locked):
            attempt()
    # reassigning is refused to everyone, administrators too, one record or many (all or nothing)
    for who in ("lead", "admin"):
        with pytest.raises(Locked, match="Acme"):
            w.svc(who).ownership.assign("account", [acme["id"]], w.ids["eve"])
        with pytest.raises(Locked):
            w.svc(who).ownership.assign("account", [other["id"], acme["id"]], w.ids["eve"])
    # sharing does not change the record: allowed
    w.svc("ed").ownership.share("account", acme["id"], "user", w.ids["eve"], "read")

    assert stored(w, acme["id"]) == before
    assert w.svc("admin").get("account", acme["id"])["lines"] == lines_before
    assert stored(w, other["id"])["owner"] == w.ids["ed"]
    assert attachment_files(w) == files_before  # the refused upload left no file behind


def test_a_pending_record_in_the_recycle_bin_cannot_be_restored_by_its_owner(world):
    """(Deleting cancels an approval; a record deleted while pending before that rule
    still says pending, and restoring it is a change like any other.)"""
    w = world
    acme = account(w)
    w.submit(acme["id"], "ed", entity="account")
    table = w.site.tables["account"]
    with w.site.writing() as c:
        c.execute(sa.update(table).where(table.c.id == acme["id"]).values(deleted_at=dt.datetime(2026, 1, 1)))
    with pytest.raises(Locked):
        w.svc("ed").restore("account", acme["id"])
    assert stored(w, acme["id"])["deleted_at"] is not None


def test_transfer_leaves_records_waiting_for_approval_and_names_them(world):
    w = world
    waiting = account(w, name="Waiting Co")
    free = account(w, name="Free Co")
    w.submit(waiting["id"], "ed", entity="account")
    admin = w.svc("admin").ownership
    assert admin.transfer_preview(w.ids["ed"], w.ids["eve"]) == [("account", 1)]
    assert admin.transfer_held(w.ids["ed"]) == [("account", waiting["id"], "Waiting Co")]
    assert admin.transfer(w.ids["ed"], w.ids["eve"]) == [("account", 1)]
    assert stored(w, free["id"])["owner"] == w.ids["eve"]
    assert stored(w, waiting["id"])["owner"] == w.ids["ed"]
    audit = w.rows("audit", action="transfer.all")
    assert json.loads(audit[0]["detail"])["held"] == {"account": 1}
    # once decided, a second transfer moves it
    w.approve("boss", waiting["id"], entity="account")
    assert admin.transfer(w.ids["ed"], w.ids["eve"]) == [("account", 1)]
    assert stored(w, waiting["id"])["owner"] == w.ids["eve"]


def test_deleting_a_pending_record_cancels_its_approval(world):
    w = world
    acme = account(w)
    w.submit(acme["id"], "ed", entity="account")
    task = w.pending(acme["id"], "account")["boss"]
    w.svc("admin").delete("account", acme["id"])  # administrators may delete a locked record

    cur = w.current(acme["id"], "account")
    assert cur["state"] == "cancelled" and cur["finished_at"] is not None
    assert [t.state for t in cur["tasks"]] == ["cancelled"]
    assert w.ap("boss").inbox() == [] and w.ap("boss").pending_count() == 0
    with pytest.raises((NotFound, WorkflowError)):
        w.ap("boss").approve(task.id)
    assert w.events(acme["id"], "account")[-1] == ("cancel", None, "admin")
    notes = w.rows("notification", user_id=w.ids["ed"], kind="cancelled")
    assert len(notes) == 1 and "was deleted" in notes[0]["text_en"]
    row = stored(w, acme["id"])
    assert row["deleted_at"] is not None and row["workflow_state"] == "cancelled" and row["status"] == "draft"

    # restored, it is an ordinary record again: editable and submittable
    w.svc("ed").restore("account", acme["id"])
    saved = w.svc("ed").update("account", acme["id"], {"notes": "back"}, stored(w, acme["id"])["row_version"])
    assert saved["notes"] == "back"
    assert w.submit(acme["id"], "ed", entity="account")["state"] == "pending"


def test_approval_actions_answer_not_found_alike_and_forbidden_for_readers(world):
    w = world
    acme = account(w)
    approval = w.submit(acme["id"], "ed", entity="account")
    task = w.pending(acme["id"], "account")["boss"]
    stranger = w.ap("stranger")  # cannot read the account
    answers = []
    for attempt in (lambda: stranger.approve(task.id), lambda: stranger.approve(987654),
                    lambda: stranger.reject(task.id, "no"), lambda: stranger.recall(approval["id"]),
                    lambda: stranger.recall(987654), lambda: stranger.reassign(task.id, w.ids["eve"]),
                    lambda: stranger.reassign(987654, w.ids["eve"]),
                    lambda: stranger.locate(task_id=task.id), lambda: stranger.locate(approval_id=approval["id"])):
        with pytest.raises(NotFound) as info:
            attempt()
        answers.append(str(info.value))
    assert set(answers) == {"There is no such approval."}
    eve = w.ap("eve")  # an editor: reads every account, but is neither approver nor submitter
    for attempt in (lambda: eve.approve(task.id), lambda: eve.recall(approval["id"]),
                    lambda: eve.reassign(task.id, w.ids["eve"])):
        with pytest.raises(Forbidden):
            attempt()
    assert w.pending(acme["id"], "account")["boss"].state == "pending"


# ------------------------------------------------------------------ pages, real packs
def _quote_with_line(app, owner) -> tuple[int, int]:
    svc = site_of(app).records(site_of(app).actor(site_of(app).user(owner)), "en")
    admin = site_of(app).records(site_of(app).actor(site_of(app).authenticate("admin", "secret-pw")), "en")
    product = admin.create("product", {"name": "Rack server"})
    customer = svc.create("customer", {"name": "Acme lines"})
    quote = svc.create("quote", {"subject": "Racks", "customer": customer["id"], "quote_date": dt.date.today(),
                                 "status": "draft", "discount_percent": 15,
                                 "lines": [{"product": product["id"], "quantity": "1", "unit_price": "100"}]})
    return quote["id"], quote["lines"][0]["id"]


def _line_row(app, line_id) -> dict:
    site = site_of(app)
    table = site.tables["quote_line"]
    with site.reading() as c:
        return dict(c.execute(sa.select(table).where(table.c.id == line_id)).mappings().one())


def test_line_pages_answer_404_for_everyone_and_change_nothing(real_app, org):
    quote, line = _quote_with_line(real_app, org["rep"])
    assert submit(signed_in(real_app, "rep"), quote).status_code == 204
    before = _line_row(real_app, line)
    for client in (signed_in(real_app, "rep"), signed_in(real_app, "admin", "secret-pw")):
        for url in (f"/app/quote_line/{line}", f"/app/quote_line/{line}/edit", "/app/quote_line/new",
                    f"/app/quote_line/{line}/file/product"):
            assert client.get(url).status_code == 404, url
        for url, data in ((f"/app/quote_line/{line}/edit", {"quantity": "99", "row_version": "1"}),
                          (f"/app/quote_line/{line}/delete", {}), (f"/app/quote_line/{line}/restore", {}),
                          (f"/app/quote_line/{line}/assign", {"owner": str(org["colleague"])}),
                          ("/app/quote_line/-/assign", {"ids": str(line), "owner": str(org["colleague"])}),
                          (f"/app/quote_line/{line}/share", {"principal": f"user:{org['colleague']}", "access": "write"}),
                          (f"/app/quote_line/{line}/-/submit", {}), ("/app/quote_line/new", {"quantity": "1"})):
            assert client.post_form(url, data).status_code == 404, url
    assert _line_row(real_app, line) == before
    assert quote_row(real_app, quote)["workflow_state"] == "pending"


def test_a_pending_quote_is_not_reassigned_from_its_page_or_the_list(real_app, org):
    quote, _line = _quote_with_line(real_app, org["rep"])
    assert submit(signed_in(real_app, "rep"), quote).status_code == 204
    before = quote_row(real_app, quote)
    mgr = signed_in(real_app, "mgr")  # may assign the department's quotes
    page = soup(mgr.get(f"/app/quote/{quote}"))
    assert page["#assign-form"] == []  # not offered while pending
    response = mgr.post_form(f"/app/quote/{quote}/assign", {"owner": str(org["colleague"])})
    assert response.status_code == 423
    assert "cannot be reassigned until the approval is decided or recalled" in soup(response).text(".error-page")
    response = mgr.post_form("/app/quote/-/assign", {"ids": str(quote), "owner": str(org["colleague"])})
    assert response.status_code == 423
    assert "Racks" in soup(response).text("#bulk-error")
    admin = signed_in(real_app, "admin", "secret-pw")
    assert admin.post_form(f"/app/quote/{quote}/assign", {"owner": str(org["colleague"])}).status_code == 423
    assert quote_row(real_app, quote) == before


def test_transfer_page_names_the_records_that_wait_for_approval(real_app, org):
    quote, _line = _quote_with_line(real_app, org["rep"])
    assert submit(signed_in(real_app, "rep"), quote).status_code == 204
    admin = signed_in(real_app, "admin", "secret-pw")
    preview = soup(admin.get(f"/-/admin/transfer?from_user={org['rep']}&to_user={org['colleague']}"))
    assert [li.get("data-record") for li in preview["#held li"]] == [str(quote)]
    assert "Racks" in preview.text("#held")
    done = admin.post_form("/-/admin/transfer", {"from_user": str(org["rep"]), "to_user": str(org["colleague"])})
    assert done.status_code == 200 and soup(done)["#held li[data-record]"]
    assert quote_row(real_app, quote)["owner"] == org["rep"]


def test_deleting_a_pending_quote_takes_its_approval_off_the_inbox(real_app, org):
    quote, _line = _quote_with_line(real_app, org["rep"])
    assert submit(signed_in(real_app, "rep"), quote).status_code == 204
    task = pending_task(real_app, quote, org["mgr"])
    admin = signed_in(real_app, "admin", "secret-pw")
    assert admin.post_form(f"/app/quote/{quote}/delete").status_code == 303
    mgr = signed_in(real_app, "mgr")
    assert soup(mgr.get("/-/approvals"))["table.inbox tbody tr"] == []
    late = mgr.post_form(f"/-/approvals/tasks/{task}/approve", {"origin": "inbox"})
    assert late.status_code == 404  # the record is gone: as if there were no such approval
    assert [t["state"] for t in tasks(real_app, quote)] == ["cancelled"]
    rep = signed_in(real_app, "rep")
    submitted = soup(rep.get("/-/approvals?tab=submitted"))
    assert "Cancelled: the record was deleted" in submitted.text("table.inbox")


def test_approval_routes_answer_one_404_for_unreadable_and_missing(real_app, org):
    quote = make_quote(real_app, org["rep"], 15)
    assert submit(signed_in(real_app, "rep"), quote).status_code == 204
    task = pending_task(real_app, quote, org["mgr"])
    the_approval = approval_id(real_app, quote)
    colin = signed_in(real_app, "colin")  # a colleague who cannot read the rep's quote
    for htmx in (False, True):
        for real, missing in ((f"/-/approvals/tasks/{task}/approve", "/-/approvals/tasks/987654/approve"),
                              (f"/-/approvals/tasks/{task}/reject", "/-/approvals/tasks/987654/reject"),
                              (f"/-/approvals/tasks/{task}/reassign", "/-/approvals/tasks/987654/reassign"),
                              (f"/-/approvals/{the_approval}/recall", "/-/approvals/987654/recall")):
            data = {"comment": "x", "origin": "record", "user_id": str(org["colleague"])}
            one, other = colin.post_form(real, data, htmx=htmx), colin.post_form(missing, data, htmx=htmx)
            assert one.status_code == other.status_code == 404, real
            # the same page, but for the address it echoes (the language switch returns to it)
            assert one.get_data(as_text=True).replace(real, "URL") == other.get_data(as_text=True).replace(missing, "URL")
    # the record's own approval page (submit) answers like a missing record
    for htmx in (False, True):
        one = colin.post_form(f"/app/quote/{quote}/-/submit", {"origin": "record"}, htmx=htmx)
        other = colin.post_form("/app/quote/987654/-/submit", {"origin": "record"}, htmx=htmx)
        assert one.status_code == other.status_code == 404
        same = [r.get_data(as_text=True).replace(f"/app/quote/{rid}/-/submit", "URL").replace(f"Quote {rid} ", "Quote ID ")
                for r, rid in ((one, quote), (other, 987654))]
        assert same[0] == same[1] and "Quote ID does not exist or you cannot see it." in same[0]
    # one who reads it but may not act gets a 403, not a redirect
    mgr = signed_in(real_app, "mgr")
    for url in (f"/-/approvals/{the_approval}/recall", f"/-/approvals/tasks/{task}/reassign"):
        response = mgr.post_form(url, {"origin": "record", "user_id": str(org["gm"])}, htmx=True)
        assert response.status_code == 403, url
    assert [t["state"] for t in tasks(real_app, quote)] == ["pending"]


# ------------------------------------------------------------------ sessions
def test_reactivating_a_user_revives_no_session_from_before(real_app, org):
    site = site_of(real_app)
    rep = signed_in(real_app, "rep")
    assert rep.get("/").status_code == 200
    admin = OrgService(site, site.actor(site.authenticate("admin", "secret-pw")), "en")
    user = admin.user(org["rep"])
    common = dict(display_name=user["display_name"], department_id=user["department_id"], roles=user["roles"],
                  teams=user["teams"], is_admin=False)
    admin.update_user(org["rep"], is_active=False, **common)
    assert rep.get("/").status_code == 302  # signed out at once
    admin.update_user(org["rep"], is_active=True, **common)
    response = rep.get("/")
    assert response.status_code == 302 and "/-/login" in response.headers["Location"]
    # an edit that leaves the user active keeps their sessions
    fresh = signed_in(real_app, "rep")
    admin.update_user(org["rep"], is_active=True, **dict(common, display_name="Rita R."))
    assert fresh.get("/").status_code == 200
