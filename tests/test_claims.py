"""Every write that changes a record claims the row version it read.

A second connection changes the record (a new row version, with its history) and holds its
transaction open while one of Kehu's writes runs: an edit, an assignment (one, several), a
transfer, a delete, a restore, or a workflow's change of the record (a decision, a recall).
On PostgreSQL the write reads the record before the other transaction commits and then
waits for its row lock: it must find its version gone and refuse (a Conflict, or a
WorkflowError for a decision), not write a second change under the same version. On SQLite
writers are serialised (``BEGIN IMMEDIATE``), so the write starts after the commit: it
reads the new version and lands on top of it. Either way, nothing is lost and no two
changes share a version.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from kehu.errors import Conflict, WorkflowError
from kehu_testing import FIXTURE_PACK, make_site
from test_approval_lock import ACCOUNT_FLOW, PEOPLE, account, stored
from test_workflows import APPROVALS_PACK, DEPARTMENTS, World, write_flows


@pytest.fixture
def world(db_url, tmp_path):
    name = f"kehu-claims-{uuid.uuid4().hex[:8]}"
    if db_url.startswith("postgresql"):
        db_url += f"&application_name={name}"  # so the test can see its own lock waits
    site = make_site(db_url, tmp_path, packs=[FIXTURE_PACK, APPROVALS_PACK, write_flows(tmp_path / "flows", [ACCOUNT_FLOW])])
    w = World(site, DEPARTMENTS, PEOPLE, {"admin"})
    w.app_name = name
    yield w
    site.engine.dispose()


def _waiting_for_a_lock(w: World) -> bool:
    with w.site.engine.connect() as c:
        return c.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
                                 "AND wait_event_type = 'Lock'"), {"name": w.app_name}).scalar_one() > 0


def race_with_an_edit(w: World, rid: int, write):
    """Run ``write`` while another transaction has changed the record (row version + 1,
    notes = 'theirs', with history) and not yet committed; return the write's outcome."""
    table, hist = w.site.tables["account"], w.site.tables.history
    other = w.site.engine.connect().execution_options(kehu_write=True)
    tx = other.begin()
    seen = other.execute(sa.select(table.c.row_version).where(table.c.id == rid)).scalar_one()
    other.execute(sa.update(table).where(table.c.id == rid).values(row_version=seen + 1, notes="theirs"))
    other.execute(sa.insert(hist).values(entity="account", record_id=rid, row_version=seen + 1, action="update",
                                         field="notes", old_value=None, new_value="theirs",
                                         user_id=w.ids["eve"], at=sa.func.now()))
    outcome: list = []

    def run():
        try:
            outcome.append(("ok", write()))
        except BaseException as exc:  # noqa: BLE001 - compared by the test
            outcome.append(("error", exc))

    thread = threading.Thread(target=run)
    thread.start()
    if w.site.engine.dialect.name == "postgresql":
        for _ in range(400):  # until the write waits for the row lock (it has read the record)
            if _waiting_for_a_lock(w) or not thread.is_alive():
                break
            time.sleep(0.05)
    else:
        time.sleep(0.3)  # the write queues on BEGIN IMMEDIATE; its outcome does not depend on when
    tx.commit()
    other.close()
    thread.join(timeout=60)
    assert outcome, "the write did not finish"
    return seen, outcome[0]


def _submitted(w: World) -> int:
    rid = account(w)["id"]
    w.submit(rid, "ed", entity="account")
    return rid


def _deleted(w: World) -> int:
    rid = account(w)["id"]
    w.svc("ed").delete("account", rid)
    return rid


WRITES = {
    # name: (set-up returning the record id, the write, the errors a refusal may raise)
    "edit": (lambda w: account(w)["id"],
             lambda w, rid, v: w.svc("ed").update("account", rid, {"employees": 12}, v), Conflict),
    "assign": (lambda w: account(w)["id"],
               lambda w, rid, v: w.svc("lead").ownership.assign("account", [rid], w.ids["eve"]), Conflict),
    "bulk assign": (lambda w: account(w)["id"],
                    lambda w, rid, v: w.svc("admin").ownership.assign(
                        "account", [account(w, "eve", name="Another")["id"], rid], w.ids["lead"]), Conflict),
    "transfer": (lambda w: account(w)["id"],
                 lambda w, rid, v: w.svc("admin").ownership.transfer(w.ids["ed"], w.ids["eve"]), Conflict),
    "delete": (lambda w: account(w)["id"], lambda w, rid, v: w.svc("admin").delete("account", rid), Conflict),
    "restore": (_deleted, lambda w, rid, v: w.svc("ed").restore("account", rid), Conflict),
    "approve": (_submitted, lambda w, rid, v: w.approve("boss", rid, entity="account"), WorkflowError),
    "recall": (_submitted, lambda w, rid, v: w.ap("ed").recall(w.current(rid, "account")["id"]), WorkflowError),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_a_write_racing_an_edit_claims_the_version_it_read(world, name):
    w = world
    setup, write, refusal = WRITES[name]
    rid = setup(w)
    version = stored(w, rid)["row_version"]
    seen, (kind, result) = race_with_an_edit(w, rid, lambda: write(w, rid, version))
    assert seen == version
    row = stored(w, rid)
    assert row["notes"] == "theirs"  # the other change is never overwritten
    if kind == "error":
        assert isinstance(result, refusal), repr(result)
        if isinstance(result, Conflict):
            assert "theirs" in [c["new_value"] for c in result.changes]  # says what changed
        assert row["row_version"] == seen + 1  # nothing of the refused write landed
    else:
        # only on SQLite: it started after the other commit and wrote on top of it, under a
        # version of its own (an edit carries the version its form showed, so it never does)
        assert w.site.engine.dialect.name == "sqlite" and name != "edit", f"{name} was not refused"
        assert row["row_version"] >= seen + 2
    hist = w.site.tables.history
    with w.site.reading() as c:
        writers = c.execute(sa.select(hist.c.row_version, hist.c.user_id, hist.c.action)
                            .where(hist.c.entity == "account", hist.c.record_id == rid)).all()
    by_version: dict[int, set] = {}
    for version_no, user_id, action in writers:
        by_version.setdefault(version_no, set()).add((user_id, action))
    assert all(len(who) == 1 for who in by_version.values()), by_version


def test_a_delete_carrying_a_stale_version_is_refused(world):
    w = world
    rid = account(w)["id"]
    seen = stored(w, rid)["row_version"]
    w.svc("ed").update("account", rid, {"notes": "changed"}, seen)
    with pytest.raises(Conflict) as info:
        w.svc("ed").delete("account", rid, row_version=seen)
    assert [c["new_value"] for c in info.value.changes] == ["changed"]
    assert stored(w, rid)["deleted_at"] is None


def test_a_refused_write_answers_409_saying_what_changed(client):
    """A delete sent from a page opened before someone else's edit: refused, and the page
    names the change (the field's label and its values, who and when)."""
    client.login()
    site = client.application.extensions["kehu"]
    svc = site.records(site.actor(site.authenticate("admin", "secret-pw")), "en")
    record = svc.create("account", {"name": "Kappa"})
    svc.update("account", record["id"], {"notes": "called them"}, record["row_version"])
    response = client.post_form(f"/app/account/{record['id']}/delete", {"row_version": str(record["row_version"])})
    assert response.status_code == 409
    from kehu_testing import soup

    changes = [li.get_text(" ", strip=True) for li in soup(response)[".error-page ul.changes li"]]
    assert len(changes) == 1 and "Notes: empty → called them" in changes[0] and "管理员" in changes[0]
    assert svc.get("account", record["id"])["deleted_at"] is None
