"""Approval workflows at run time: who gets a task, what deciding does to the record, and
what users rely on around it (locking, recall, delegation, reminders, versions, races).

Most tests run over the fixture pack plus ``tests/workflow_packs/approvals`` (an expense
claim entity, a department picklist and a few roles) and a pack of workflow documents each
test writes for itself. The organisation is the same every time (``DEPARTMENTS`` and
``PEOPLE``), inserted directly (hashing a password per user would cost a second a test).
The last tests run the base workflows of the real packs.
"""

from __future__ import annotations

import datetime as dt
import textwrap
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from kehu.errors import Forbidden, Locked, NotFound, RecordInvalid, WorkflowError
from kehu.metadata import MetadataError
from kehu_testing import FIXTURE_PACK, make_site, real_packs

APPROVALS_PACK = Path(__file__).parent / "workflow_packs" / "approvals"

# code: (name, parent code, manager)
DEPARTMENTS = {
    "hq": ("Head office", None, "ceo"),
    "sales": ("Sales", "hq", "sales_boss"),
    "east": ("Sales east", "sales", "east_lead"),
    "finance": ("Finance", "hq", "fin_boss"),
    "warehouse": ("Warehouse", "hq", "wh_boss"),
}
# username: (department code, roles, active)
PEOPLE = {
    "admin": (None, (), True),
    "ceo": ("hq", ("staff",), True),
    "sales_boss": ("sales", ("staff", "clerk"), True),
    "east_lead": ("east", ("staff", "clerk"), True),
    "rep1": ("east", ("clerk",), True),
    "rep2": ("east", ("clerk",), True),
    "fin_boss": ("finance", ("staff",), True),
    "wh_boss": ("warehouse", ("staff",), True),
    "ctrl1": ("finance", ("controller",), True),
    "ctrl2": ("finance", ("controller",), True),
    "ctrl_gone": ("finance", ("controller",), False),
    "stranger": ("warehouse", ("clerk",), True),
}
ADMINS = {"admin"}

ACTIONS = """\
on_submit: {set: {status: submitted}}
on_approve: {set: {status: approved, paid: true}}
on_reject: {set: {status: rejected}}
on_recall: {set: {status: recalled}}
"""

CHECK = """\
- name: check
  label: {en: Controller check, zh: 财务审核}
  approvers: [{role: controller}]
  mode: any
"""

CHECK_THEN_PAY = CHECK + """\
- name: pay
  label: {en: Payment, zh: 付款}
  approvers: [{department: finance}]
"""


# ------------------------------------------------------------------ helpers
def flow(steps: str, *, name: str = "claim", head: str = "", actions: str = ACTIONS, entity: str = "expense") -> str:
    """A workflow document over ``entity`` with ``steps`` (a YAML list, dedented)."""
    steps = textwrap.indent(textwrap.dedent(steps).strip("\n"), "  ")
    label = name.replace("_", " ").capitalize()
    return (f"kind: workflow\nname: {name}\nlabel: {{en: {label}, zh: {label}}}\nentity: {entity}\n"
            f"{textwrap.dedent(head)}{actions}steps:\n{steps}\n")


def write_flows(root: Path, documents) -> Path:
    """A pack named ``flows`` (after ``approvals``) holding the workflow documents."""
    root.mkdir(parents=True)
    (root / "metadata").mkdir()
    (root / "metadata" / "pack.yaml").write_text(
        "kind: pack\nname: flows\nlabel: {en: Flows, zh: 流程}\nversion: '1.0'\nrequires: [approvals]\n", encoding="utf-8")
    (root / "workflows").mkdir()
    for i, text in enumerate(documents):
        (root / "workflows" / f"flow_{i}.yaml").write_text(text, encoding="utf-8")
    return root


def build_org(site, departments: dict, people: dict, admins=("admin",)) -> tuple[dict[str, int], dict[str, int]]:
    """Departments with codes and managers, users with roles: (user ids, department ids).
    Over a database that has them already, the ids of what is there."""
    t = site.tables
    users, depts_t = t.users, t.departments
    now = dt.datetime.now().replace(microsecond=0)
    with site.writing() as c:
        ids = dict(c.execute(sa.select(users.c.username, users.c.id)).all())
        if ids:
            return ids, dict(c.execute(sa.select(depts_t.c.code, depts_t.c.id)).all())
        depts: dict[str, int] = {}
        for code, (name, parent, _) in departments.items():
            depts[code] = c.execute(sa.insert(depts_t).values(
                name=name, name_en=name, code=code, parent_id=depts[parent] if parent else None, created_at=now,
            ).returning(depts_t.c.id)).scalar_one()
        for username, (dept, roles, active) in people.items():
            ids[username] = c.execute(sa.insert(users).values(
                username=username, display_name=username.upper(), password_hash="-", is_active=active,
                is_admin=username in admins, locale="en", department_id=depts[dept] if dept else None, created_at=now,
            ).returning(users.c.id)).scalar_one()
            for role in roles:
                c.execute(sa.insert(t.user_roles).values(user_id=ids[username], role=role))
        for code, (_, _, manager) in departments.items():
            if manager:
                c.execute(sa.update(depts_t).where(depts_t.c.id == depts[code]).values(manager_id=ids[manager]))
    return ids, depts


class World:
    """A site with the organisation, and short ways to act as one of its people."""

    entity = "expense"

    def __init__(self, site, departments=DEPARTMENTS, people=PEOPLE, admins=ADMINS):
        self.site = site
        self.ids, self.depts = build_org(site, departments, people, admins)
        self.names = {v: k for k, v in self.ids.items()}

    def svc(self, who: str):
        return self.site.records(self.site.actor(self.site.user(self.ids[who])), "en")

    def ap(self, who: str):
        return self.svc(who).approvals

    def create(self, who: str = "rep1", entity: str | None = None, **values) -> int:
        if (entity or self.entity) == "expense":
            values = {"title": "Taxi to the airport", "amount": 50, **values}
        return self.svc(who).create(entity or self.entity, values)["id"]

    expense = create

    def record(self, rid: int, entity: str | None = None) -> dict:
        return self.svc("admin").get(entity or self.entity, rid)

    def current(self, rid: int, entity: str | None = None) -> dict | None:
        return self.ap("admin").current(entity or self.entity, rid)

    def pending(self, rid: int, entity: str | None = None) -> dict:
        """The pending tasks of the record's latest approval, by assignee's username."""
        cur = self.current(rid, entity)
        return {self.names[t.assignee_id]: t for t in cur["tasks"] if t.state == "pending"} if cur else {}

    def submit(self, rid: int, who: str = "rep1", comment: str | None = None, entity: str | None = None) -> dict:
        return self.ap(who).submit(entity or self.entity, rid, comment)

    def approve(self, who: str, rid: int, comment: str | None = None, entity: str | None = None) -> dict:
        return self.ap(who).approve(self.pending(rid, entity)[who].id, comment)

    def events(self, rid: int, entity: str | None = None) -> list[tuple]:
        """(action, step, actor username) of the record's approval events, oldest first."""
        return [(e["action"], e["step"], self.names.get(e["actor_id"]))
                for e in self.ap("admin").events(entity or self.entity, rid)]

    def rows(self, table: str, **where) -> list[dict]:
        t = getattr(self.site.tables, table)
        with self.site.reading() as c:
            stmt = sa.select(t).where(*(t.c[k] == v for k, v in where.items())).order_by(t.c.id)
            return [dict(r) for r in c.execute(stmt).mappings()]


@pytest.fixture
def build(db_url, tmp_path):
    """build(*workflow documents, folder=) -> World over the fixture and approvals packs."""
    sites = []

    def _build(*documents, folder: str = "flows") -> World:
        pack = write_flows(tmp_path / folder, documents)
        site = make_site(db_url, tmp_path, packs=[FIXTURE_PACK, APPROVALS_PACK, pack])
        sites.append(site)
        return World(site)

    yield _build
    for site in sites:
        site.engine.dispose()


def race(*calls, timeout: float = 60):
    """Run ``calls`` in threads released together; [("ok", result) | ("error", exception)]."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=timeout)
            results[i] = ("ok", call())
        except BaseException as exc:  # noqa: BLE001 - compared by the test
            results[i] = ("error", exc)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert all(r is not None for r in results), "a thread did not finish"
    return results


# ------------------------------------------------------------------ approver rules
def test_role_rule_gives_every_active_holder_a_task(build):
    w = build(flow(CHECK))
    rid = w.expense()
    cur = w.submit(rid)
    assert cur["state"] == "pending" and cur["step_no"] == 0 and cur["current_step"].name == "check"
    assert sorted(w.pending(rid)) == ["ctrl1", "ctrl2"]  # ctrl_gone is inactive
    assert w.record(rid)["workflow_state"] == "pending"
    assert w.record(rid)["status"] == "submitted"


def test_manager_of_submitter_is_their_department_manager(build):
    w = build(flow("""
        - name: boss
          label: {en: Manager, zh: 经理}
          approvers: [{manager: submitter}]
    """))
    rid = w.expense("rep1")
    w.submit(rid, "rep1")
    assert list(w.pending(rid)) == ["east_lead"]


def test_a_manager_submitting_goes_to_the_manager_above(build):
    w = build(flow("""
        - name: boss
          label: {en: Manager, zh: 经理}
          approvers: [{manager: submitter}]
    """))
    rid = w.expense("east_lead")
    w.submit(rid, "east_lead")
    assert list(w.pending(rid)) == ["sales_boss"]
    rid = w.expense("sales_boss")
    w.submit(rid, "sales_boss")
    assert list(w.pending(rid)) == ["ceo"]


def test_manager_of_owner_follows_the_record_owner_not_the_submitter(build):
    w = build(flow("""
        - name: boss
          label: {en: Owner's manager, zh: 负责人经理}
          approvers: [{manager: owner}]
    """))
    rid = w.expense("stranger")  # owned by someone in the warehouse
    w.submit(rid, "admin")  # submitted by an administrator without a department
    assert list(w.pending(rid)) == ["wh_boss"]
    cur = w.current(rid)
    assert cur["submitted_by"] == w.ids["admin"]


def test_manager_chain_two_levels_all_needs_both(build):
    w = build(flow("""
        - name: chain
          label: {en: Two managers, zh: 两级经理}
          approvers: [{manager_chain: 2}]
          mode: all
    """))
    rid = w.expense("rep1")
    w.submit(rid, "rep1")
    assert sorted(w.pending(rid)) == ["east_lead", "sales_boss"]
    w.approve("east_lead", rid)
    assert w.current(rid)["state"] == "pending"
    assert list(w.pending(rid)) == ["sales_boss"]
    w.approve("sales_boss", rid)
    assert w.current(rid)["state"] == "approved"
    assert w.record(rid)["workflow_state"] == "approved"


def test_manager_chain_two_levels_any_needs_one(build):
    w = build(flow("""
        - name: chain
          label: {en: Two managers, zh: 两级经理}
          approvers: [{manager_chain: 2}]
          mode: any
    """))
    rid = w.expense("rep1")
    w.submit(rid, "rep1")
    assert sorted(w.pending(rid)) == ["east_lead", "sales_boss"]
    w.approve("sales_boss", rid)
    assert w.current(rid)["state"] == "approved"
    states = {w.names[t.assignee_id]: t.state for t in w.current(rid)["tasks"]}
    assert states == {"east_lead": "cancelled", "sales_boss": "approved"}


def test_manager_chain_stops_at_the_top(build):
    w = build(flow("""
        - name: chain
          label: {en: Managers, zh: 经理}
          approvers: [{manager_chain: 5}]
          mode: all
    """))
    rid = w.expense("rep1")
    w.submit(rid, "rep1")
    assert sorted(w.pending(rid)) == ["ceo", "east_lead", "sales_boss"]


def test_user_field_rule_names_the_user_in_the_field(build):
    w = build(flow("""
        - name: review
          label: {en: Reviewer, zh: 审核人}
          approvers: [{field: reviewer}]
    """))
    rid = w.expense(reviewer=w.ids["wh_boss"])
    w.submit(rid)
    assert list(w.pending(rid)) == ["wh_boss"]


def test_user_field_rule_reads_system_user_fields(build):
    w = build(flow("""
        - name: review
          label: {en: Owner confirms, zh: 负责人确认}
          approvers: [{field: owner}]
    """))
    rid = w.expense("rep2")
    w.submit(rid, "admin")
    assert list(w.pending(rid)) == ["rep2"]


def test_users_rule_names_users_by_login_and_skips_unknown_and_inactive(build):
    w = build(flow("""
        - name: named
          label: {en: Named people, zh: 指定人员}
          approvers: [{users: [fin_boss, no_such_user, ctrl_gone, ctrl2]}]
          mode: all
    """))
    rid = w.expense()
    w.submit(rid)
    assert sorted(w.pending(rid)) == ["ctrl2", "fin_boss"]


def test_department_rule_is_the_manager_of_the_department_with_that_code(build):
    w = build(flow("""
        - name: finance
          label: {en: Finance, zh: 财务}
          approvers: [{department: finance}]
        - name: warehouse
          label: {en: Warehouse, zh: 仓储}
          approvers: [{department: warehouse}]
    """))
    rid = w.expense()
    w.submit(rid)
    assert list(w.pending(rid)) == ["fin_boss"]
    w.approve("fin_boss", rid)
    assert list(w.pending(rid)) == ["wh_boss"]


def test_department_field_rule_reads_the_code_from_a_picklist_field(build):
    w = build(flow("""
        - name: routed
          label: {en: Routed, zh: 分派}
          approvers: [{department_field: department}]
    """))
    to_warehouse = w.expense(department="warehouse")
    to_east = w.expense(department="east")
    w.submit(to_warehouse)
    w.submit(to_east)
    assert list(w.pending(to_warehouse)) == ["wh_boss"]
    assert list(w.pending(to_east)) == ["east_lead"]


def test_department_field_rule_reads_the_code_from_a_text_field(build):
    w = build(flow("""
        - name: routed
          label: {en: Routed, zh: 分派}
          approvers: [{department_field: dept_text}]
    """))
    rid = w.expense(dept_text="finance")
    w.submit(rid)
    assert list(w.pending(rid)) == ["fin_boss"]


def test_inactive_users_are_not_approvers(build):
    w = build(flow("""
        - name: named
          label: {en: Gone, zh: 离职}
          approvers: [{users: [ctrl_gone]}, {role: controller}]
          mode: all
    """))
    rid = w.expense()
    w.submit(rid)
    assert sorted(w.pending(rid)) == ["ctrl1", "ctrl2"]
    assert w.ids["ctrl_gone"] not in {t.assignee_id for t in w.current(rid)["tasks"]}


def _nothing_submitted(w: World, rid: int, before: dict) -> None:
    after = w.record(rid)
    assert after["status"] == before["status"] == "draft"
    assert after["row_version"] == before["row_version"]
    assert after["workflow_state"] is None
    assert w.current(rid) is None
    assert w.rows("approval", record_id=rid) == []
    assert w.rows("approval_event", record_id=rid) == []
    assert w.rows("approval_task") == []


@pytest.mark.parametrize("rule", ["{department_field: department}", "{users: [ctrl_gone]}", "{department: hq}"])
def test_a_step_without_approver_refuses_submit_naming_the_step_and_changes_nothing(build, rule):
    w = build(flow(f"""
        - name: check
          label: {{en: Controller check, zh: 财务审核}}
          approvers: [{{role: controller}}]
        - name: routed
          label: {{en: Department head, zh: 部门负责人}}
          approvers: [{rule}]
    """))
    if rule == "{department: hq}":  # the department exists but has nobody managing it now
        with w.site.writing() as c:
            c.execute(sa.update(w.site.tables.departments).where(w.site.tables.departments.c.code == "hq")
                      .values(manager_id=None))
    rid = w.expense(department="nowhere")
    before = w.record(rid)
    with pytest.raises(WorkflowError) as info:
        w.submit(rid)
    assert "Department head" in str(info.value)
    assert "approver" in str(info.value)
    _nothing_submitted(w, rid, before)


def test_a_step_without_approver_is_not_refused_when_its_condition_does_not_hold(build):
    w = build(flow("""
        - name: routed
          label: {en: Department head, zh: 部门负责人}
          when: "amount > 1000"
          approvers: [{department_field: department}]
        - name: check
          label: {en: Controller check, zh: 财务审核}
          approvers: [{role: controller}]
    """))
    rid = w.expense(department="nowhere", amount=10)
    w.submit(rid)
    assert sorted(w.pending(rid)) == ["ctrl1", "ctrl2"]


# ------------------------------------------------------------------ conditions
def test_when_skips_a_step_records_the_skip_and_starts_the_next(build):
    w = build(flow("""
        - name: big
          label: {en: Big amounts, zh: 大额}
          when: "amount > 1000"
          approvers: [{department: hq}]
        - name: check
          label: {en: Controller check, zh: 财务审核}
          approvers: [{role: controller}]
    """))
    rid = w.expense(amount=50)
    cur = w.submit(rid)
    assert cur["step_no"] == 1 and cur["current_step"].name == "check"
    assert sorted(w.pending(rid)) == ["ctrl1", "ctrl2"]
    assert {t.step for t in cur["tasks"]} == {"check"}
    assert w.events(rid) == [("submit", None, "rep1"), ("skip", "big", None)]

    big = w.expense(amount=5000)
    w.submit(big)
    assert list(w.pending(big)) == ["ceo"]
    assert ("skip", "big", None) not in w.events(big)


def test_when_is_evaluated_after_earlier_steps_changed_the_record(build):
    w = build(flow("""
        - name: check
          label: {en: Controller check, zh: 财务审核}
          approvers: [{role: controller}]
          on_approve: {set: {status: checked}}
        - name: after_check
          label: {en: After the check, zh: 审核之后}
          when: "status == 'checked'"
          approvers: [{department: finance}]
    """))
    rid = w.expense()
    w.submit(rid)
    w.approve("ctrl1", rid)
    assert list(w.pending(rid)) == ["fin_boss"]


def test_all_steps_skipped_approves_at_once(build):
    w = build(flow("""
        - name: big
          label: {en: Big amounts, zh: 大额}
          when: "amount > 1000"
          approvers: [{department: hq}]
        - name: huge
          label: {en: Huge amounts, zh: 巨额}
          when: "amount > 100000"
          approvers: [{department: hq}]
    """))
    rid = w.expense(amount=5)
    cur = w.submit(rid)
    assert cur["state"] == "approved" and cur["tasks"] == [] and cur["current_step"] is None
    record = w.record(rid)
    assert record["workflow_state"] == "approved"
    assert record["status"] == "approved" and record["paid"] is True
    assert [e[:2] for e in w.events(rid)] == [("submit", None), ("skip", "big"), ("skip", "huge"), ("approved", None)]


def test_entry_condition_refuses_submit_when_it_does_not_hold(build):
    w = build(flow(CHECK, head='entry: "amount > 100"\n'))
    small = w.expense(amount=50)
    assert w.ap("rep1").can_submit("expense", w.svc("rep1").get("expense", small)) is None
    before = w.record(small)
    with pytest.raises(WorkflowError) as info:
        w.submit(small)
    assert "No approval applies" in str(info.value)
    _nothing_submitted(w, small, before)

    big = w.expense(amount=150)
    assert w.ap("rep1").can_submit("expense", w.svc("rep1").get("expense", big)).name == "claim"
    assert w.submit(big)["state"] == "pending"


def test_can_submit_needs_write_access_and_a_record_not_pending(build):
    w = build(flow(CHECK))
    rid = w.expense("rep1")
    record = w.record(rid)
    assert w.ap("rep1").can_submit("expense", record).name == "claim"
    assert w.ap("ctrl1").can_submit("expense", record) is None  # cannot write it
    with pytest.raises((Forbidden, NotFound)):
        w.submit(rid, "rep2")
    w.submit(rid)
    assert w.ap("rep1").can_submit("expense", w.record(rid)) is None
    with pytest.raises(WorkflowError):
        w.submit(rid)
    assert len(w.rows("approval", record_id=rid)) == 1


def test_priority_picks_the_lowest_among_workflows_that_apply(build):
    w = build(
        flow(CHECK, name="standard", head="priority: 50\n"),
        flow("""
            - name: express
              label: {en: Finance head, zh: 财务负责人}
              approvers: [{department: finance}]
        """, name="express", head='priority: 10\nentry: "amount < 100"\n'),
    )
    assert [wf.name for wf in w.site.metadata.workflows_of("expense")] == ["express", "standard"]
    small = w.expense(amount=20)
    assert w.submit(small)["workflow"] == "express"
    assert list(w.pending(small)) == ["fin_boss"]
    large = w.expense(amount=500)  # the express entry does not hold: the next one starts
    assert w.submit(large)["workflow"] == "standard"
    assert sorted(w.pending(large)) == ["ctrl1", "ctrl2"]


# ------------------------------------------------------------------ modes
def test_mode_any_first_approval_completes_the_step_and_cancels_the_others(build):
    w = build(flow(CHECK_THEN_PAY))
    rid = w.expense()
    w.submit(rid)
    stale = w.pending(rid)["ctrl2"]
    cur = w.approve("ctrl1", rid, "fine")
    assert cur["step_no"] == 1 and cur["current_step"].name == "pay"
    states = {(t.step, w.names[t.assignee_id]): t.state for t in cur["tasks"]}
    assert states == {("check", "ctrl1"): "approved", ("check", "ctrl2"): "cancelled", ("pay", "fin_boss"): "pending"}
    assert w.ap("ctrl2").inbox() == [] and w.ap("ctrl2").pending_count() == 0
    with pytest.raises(WorkflowError):
        w.ap("ctrl2").approve(stale.id)
    with pytest.raises(WorkflowError):
        w.ap("ctrl2").reject(stale.id, "too late")
    assert [e[0] for e in w.events(rid)].count("approve") == 1


def test_mode_all_completes_the_step_only_after_every_approver(build):
    w = build(flow("""
        - name: check
          label: {en: Controller check, zh: 财务审核}
          approvers: [{role: controller}, {department: finance}]
          mode: all
        - name: boss
          label: {en: Head office, zh: 总部}
          approvers: [{department: hq}]
    """))
    rid = w.expense()
    w.submit(rid)
    assert sorted(w.pending(rid)) == ["ctrl1", "ctrl2", "fin_boss"]
    w.approve("ctrl2", rid)
    cur = w.current(rid)
    assert cur["step_no"] == 0 and sorted(w.pending(rid)) == ["ctrl1", "fin_boss"]
    w.approve("fin_boss", rid)
    assert w.current(rid)["step_no"] == 0 and list(w.pending(rid)) == ["ctrl1"]
    cur = w.approve("ctrl1", rid)
    assert cur["step_no"] == 1 and list(w.pending(rid)) == ["ceo"]
    assert [t.state for t in cur["tasks"] if t.step == "check"] == ["approved"] * 3


# ------------------------------------------------------------------ deciding
def test_reject_needs_a_comment_and_records_nothing_without_one(build):
    w = build(flow(CHECK))
    rid = w.expense()
    w.submit(rid)
    task = w.pending(rid)["ctrl1"]
    events = w.events(rid)
    for comment in (None, "", "   "):
        with pytest.raises(RecordInvalid) as info:
            w.ap("ctrl1").reject(task.id, comment)
        assert "comment" in info.value.errors
    assert w.events(rid) == events
    assert w.pending(rid)["ctrl1"].state == "pending"
    assert w.record(rid)["workflow_state"] == "pending"


def test_reject_ends_the_approval_and_applies_on_reject(build):
    w = build(flow(CHECK_THEN_PAY))
    rid = w.expense()
    w.submit(rid)
    cur = w.ap("ctrl2").reject(w.pending(rid)["ctrl2"].id, "Receipt missing")
    assert cur["state"] == "rejected" and cur["current_step"] is None and cur["finished_at"] is not None
    assert {t.state for t in cur["tasks"]} == {"rejected", "cancelled"}
    assert all(t.step == "check" for t in cur["tasks"])  # the payment step never started
    record = w.record(rid)
    assert record["workflow_state"] == "rejected" and record["status"] == "rejected"
    assert record["paid"] is False
    assert w.events(rid)[-2:] == [("reject", "check", "ctrl2"), ("rejected", None, None)]
    assert w.ap("rep1").submitted(state="rejected")[0]["record_id"] == rid
    kinds = [(n["user_id"], n["kind"]) for n in w.rows("notification", record_id=rid)]
    assert (w.ids["rep1"], "rejected") in kinds


def test_approving_the_last_step_applies_step_and_final_actions(build):
    w = build(flow("""
        - name: check
          label: {en: Controller check, zh: 财务审核}
          approvers: [{role: controller}]
          on_approve: {set: {status: checked, approved_amount: 40}}
        - name: pay
          label: {en: Payment, zh: 付款}
          approvers: [{department: finance}]
          on_approve: {set: {note: paid by finance}}
    """))
    rid = w.expense(amount=50)
    w.submit(rid)
    w.approve("ctrl1", rid)
    record = w.record(rid)
    assert record["status"] == "checked" and record["approved_amount"] == 40
    assert record["workflow_state"] == "pending" and record["paid"] is False
    cur = w.approve("fin_boss", rid)
    assert cur["state"] == "approved" and cur["step_no"] is None
    record = w.record(rid)
    assert record["status"] == "approved" and record["paid"] is True and record["note"] == "paid by finance"
    assert record["workflow_state"] == "approved"
    changed = {h["field"] for h in w.svc("admin").history("expense", rid)}
    assert {"status", "approved_amount", "paid", "note"} <= changed
    notified = [(n["user_id"], n["kind"]) for n in w.rows("notification", record_id=rid)]
    assert (w.ids["rep1"], "approved") in notified
    assert (w.ids["fin_boss"], "approval") in notified


def test_decisions_are_stored_as_events_with_actor_step_and_comment(build):
    w = build(flow(CHECK_THEN_PAY))
    rid = w.expense()
    w.submit(rid, comment="Please check quickly")
    w.approve("ctrl1", rid, "Receipts ok")
    w.ap("fin_boss").reject(w.pending(rid)["fin_boss"].id, "  Budget exhausted  ")
    events = w.ap("rep1").events("expense", rid)
    got = [(e["action"], e["step"], e["actor_name"], e["comment"]) for e in events]
    assert got == [
        ("submit", None, "REP1", "Please check quickly"),
        ("approve", "check", "CTRL1", "Receipts ok"),
        ("reject", "pay", "FIN_BOSS", "Budget exhausted"),
        ("rejected", None, None, None),
    ]
    assert all(e["at"] is not None and e["approval_id"] == events[0]["approval_id"] for e in events)
    decided = {w.names[t.assignee_id]: (t.state, t.comment) for t in w.current(rid)["tasks"] if t.decided_at}
    assert decided["ctrl1"] == ("approved", "Receipts ok")
    assert decided["fin_boss"] == ("rejected", "Budget exhausted")
    assert [r["step"] for r in w.ap("ctrl1").inbox(state="decided")] == ["check"]


def test_a_decision_on_a_step_no_longer_current_is_refused_and_records_nothing(build):
    w = build(flow("""
        - name: check
          label: {en: Controller check, zh: 财务审核}
          approvers: [{role: controller}]
          mode: all
        - name: pay
          label: {en: Payment, zh: 付款}
          approvers: [{department: finance}]
    """))
    rid = w.expense()
    w.submit(rid)
    old = w.pending(rid)["ctrl1"]
    w.approve("ctrl1", rid)
    w.approve("ctrl2", rid)  # the step moved on to payment
    # the old task of ctrl1 (already decided), by id from a stale page
    before = (w.events(rid), w.current(rid)["tasks"], w.record(rid)["row_version"])
    with pytest.raises(WorkflowError):
        w.ap("ctrl1").approve(old.id)
    with pytest.raises(WorkflowError):
        w.ap("ctrl1").reject(old.id, "changed my mind")
    # a task of another approval that was recalled meanwhile
    other = w.expense()
    w.submit(other)
    task = w.pending(other)["ctrl2"]
    w.ap("rep1").recall(w.current(other)["id"])
    with pytest.raises(WorkflowError):
        w.ap("ctrl2").approve(task.id)
    assert (w.events(rid), w.current(rid)["tasks"], w.record(rid)["row_version"]) == before
    assert w.current(other)["state"] == "recalled"
    assert [e[0] for e in w.events(other)] == ["submit", "recall"]


def test_someone_else_cannot_decide_a_task(build):
    """Who can read the record but holds no task is refused (403); who cannot read it, or
    asks for a task that does not exist, gets the same "no such approval" (404)."""
    w = build(flow(CHECK))
    rid = w.expense()
    w.submit(rid)
    task = w.pending(rid)["ctrl1"]
    for who in ("rep1", "ctrl2", "admin"):  # the submitter, an approver of another task, an admin
        with pytest.raises(Forbidden):
            w.ap(who).approve(task.id)
    with pytest.raises(NotFound) as unreadable:
        w.ap("stranger").approve(task.id)
    with pytest.raises(NotFound) as missing:
        w.ap("stranger").approve(999999)
    assert str(unreadable.value) == str(missing.value) == "There is no such approval."
    assert w.pending(rid)["ctrl1"].state == "pending"


# ------------------------------------------------------------------ recall, resubmit
def test_recall_by_submitter_applies_on_recall_and_cancels_tasks(build):
    w = build(flow(CHECK_THEN_PAY))
    rid = w.expense()
    approval_id = w.submit(rid)["id"]
    with pytest.raises(NotFound):
        w.ap("rep2").recall(approval_id)  # cannot read rep1's claim: as if there were none
    with pytest.raises(Forbidden):
        w.ap("ctrl1").recall(approval_id)  # an approver reads it but is not the submitter
    cur = w.ap("rep1").recall(approval_id, "wrong amount")
    assert cur["state"] == "recalled" and cur["finished_at"] is not None
    assert {t.state for t in cur["tasks"]} == {"cancelled"}
    record = w.record(rid)
    assert record["status"] == "recalled" and record["workflow_state"] == "recalled"
    assert w.events(rid)[-1] == ("recall", None, "rep1")
    assert w.ap("ctrl1").inbox() == []
    with pytest.raises(WorkflowError):
        w.ap("rep1").recall(approval_id)


def test_recall_after_the_approval_finished_is_refused(build):
    w = build(flow(CHECK))
    rid = w.expense()
    approval_id = w.submit(rid)["id"]
    w.approve("ctrl1", rid)
    with pytest.raises(WorkflowError):
        w.ap("rep1").recall(approval_id)
    assert w.record(rid)["status"] == "approved" and w.record(rid)["workflow_state"] == "approved"


def test_an_administrator_can_recall_someone_elses_approval(build):
    w = build(flow(CHECK))
    rid = w.expense()
    approval_id = w.submit(rid)["id"]
    assert w.ap("admin").recall(approval_id)["state"] == "recalled"


@pytest.mark.parametrize("ending", ["recall", "reject"])
def test_resubmission_after_recall_or_reject_starts_a_new_approval(build, ending):
    w = build(flow(CHECK))
    rid = w.expense()
    first = w.submit(rid)
    if ending == "recall":
        w.ap("rep1").recall(first["id"])
    else:
        w.ap("ctrl1").reject(w.pending(rid)["ctrl1"].id, "no receipt")
    updated = w.svc("rep1").update("expense", rid, {"amount": 45}, w.record(rid)["row_version"])
    assert updated["amount"] == 45
    second = w.submit(rid)
    assert second["id"] != first["id"] and second["state"] == "pending"
    assert sorted(w.pending(rid)) == ["ctrl1", "ctrl2"]
    assert all(t.approval_id == second["id"] for t in w.pending(rid).values())
    assert w.record(rid)["status"] == "submitted" and w.record(rid)["workflow_state"] == "pending"
    assert len(w.rows("approval", record_id=rid)) == 2
    assert [a["state"] for a in w.ap("rep1").submitted()] == ["pending", {"recall": "recalled", "reject": "rejected"}[ending]]


# ------------------------------------------------------------------ locking
def test_pending_record_is_locked_for_its_owner_but_not_for_admins(build):
    w = build(flow(CHECK))
    rid = w.expense("rep1")
    w.submit(rid)
    version = w.record(rid)["row_version"]
    with pytest.raises(Locked):
        w.svc("rep1").update("expense", rid, {"amount": 999}, version)
    with pytest.raises(Locked):
        w.svc("rep1").delete("expense", rid)
    assert w.record(rid)["amount"] == 50
    admin_saved = w.svc("admin").update("expense", rid, {"note": "fixed by admin"}, version)
    assert admin_saved["note"] == "fixed by admin"
    w.approve("ctrl1", rid)
    record = w.record(rid)
    saved = w.svc("rep1").update("expense", rid, {"amount": 60}, record["row_version"])
    assert saved["amount"] == 60
    w.svc("rep1").delete("expense", rid)


# ------------------------------------------------------------------ read access
def test_approvers_can_read_the_record_without_a_role_granting_it(build):
    w = build(flow(CHECK_THEN_PAY))
    rid = w.expense(title="Hotel in Xi'an")
    with pytest.raises(NotFound):
        w.svc("ctrl1").get("expense", rid)
    with pytest.raises(NotFound):
        w.svc("fin_boss").get("expense", rid)
    w.submit(rid)
    assert w.svc("ctrl1").get("expense", rid)["title"] == "Hotel in Xi'an"
    assert w.svc("ctrl2").get("expense", rid)["title"] == "Hotel in Xi'an"
    with pytest.raises(NotFound):
        w.svc("fin_boss").get("expense", rid)  # the payment step has not started
    assert w.ap("ctrl1").inbox()[0]["title"] == "Hotel in Xi'an"
    w.approve("ctrl1", rid)
    assert w.svc("fin_boss").get("expense", rid)["amount"] == 50
    with pytest.raises(Forbidden):  # reading is all the share gives
        w.svc("ctrl1").update("expense", rid, {"note": "x"}, w.record(rid)["row_version"])
    w.approve("fin_boss", rid)
    assert w.svc("ctrl2").get("expense", rid)["title"] == "Hotel in Xi'an"  # still visible afterwards
    assert w.svc("stranger").count("expense") == 0


def test_an_approver_without_any_role_sees_the_record_they_decide(build):
    """A department manager who holds no role at all (only the organisation makes them an
    approver) must see what they are asked to approve: its title and fields."""
    w = build(flow("""
        - name: pay
          label: {en: Payment, zh: 付款}
          approvers: [{department: finance}]
    """))
    roles = w.site.tables.user_roles
    with w.site.writing() as c:
        c.execute(sa.delete(roles).where(roles.c.user_id == w.ids["fin_boss"]))
    rid = w.expense(title="Hotel in Xi'an", amount=50)
    w.submit(rid)
    record = w.svc("fin_boss").get("expense", rid)
    assert record.get("title") == "Hotel in Xi'an", record
    assert record.get("amount") == 50
    assert w.ap("fin_boss").inbox()[0]["title"] == "Hotel in Xi'an"


def test_a_step_whose_approvers_left_since_submit_goes_to_the_administrators(build):
    w = build(flow(CHECK_THEN_PAY))
    rid = w.expense()
    w.submit(rid)
    depts = w.site.tables.departments
    with w.site.writing() as c:  # the finance manager leaves before the payment step starts
        c.execute(sa.update(depts).where(depts.c.code == "finance").values(manager_id=None))
    w.approve("ctrl1", rid)
    assert list(w.pending(rid)) == ["admin"]
    assert ("escalate", "pay", None) in w.events(rid)
    assert w.approve("admin", rid)["state"] == "approved"


# ------------------------------------------------------------------ delegation
def test_delegation_for_today_sends_the_task_to_the_delegate(build):
    w = build(flow("""
        - name: pay
          label: {en: Payment, zh: 付款}
          approvers: [{department: finance}]
    """))
    today = dt.date.today()
    delegation_id = w.ap("fin_boss").delegate(w.ids["ctrl1"], today - dt.timedelta(days=1), today + dt.timedelta(days=2))
    assert [d["delegate_id"] for d in w.ap("fin_boss").delegations()] == [w.ids["ctrl1"]]
    rid = w.expense()
    w.submit(rid)
    (task,) = w.pending(rid).values()
    assert w.names[task.assignee_id] == "ctrl1" and task.on_behalf_of == w.ids["fin_boss"]
    assert w.ap("fin_boss").inbox() == []
    assert w.ap("ctrl1").inbox()[0]["id"] == task.id
    w.approve("ctrl1", rid, "for the boss")
    events = {e["action"]: e for e in w.ap("admin").events("expense", rid)}
    assert events["delegate"]["target_name"] == "CTRL1" and events["delegate"]["behalf_name"] == "FIN_BOSS"
    assert events["approve"]["actor_name"] == "CTRL1" and events["approve"]["behalf_name"] == "FIN_BOSS"
    assert w.record(rid)["workflow_state"] == "approved"

    w.ap("fin_boss").end_delegation(delegation_id)
    assert w.ap("fin_boss").delegations() == []
    again = w.expense()
    w.submit(again)
    (task,) = w.pending(again).values()
    assert w.names[task.assignee_id] == "fin_boss" and task.on_behalf_of is None


@pytest.mark.parametrize("days", [(1, 5), (-6, -1)], ids=["future", "past"])
def test_delegation_outside_its_dates_does_not_apply(build, days):
    w = build(flow("""
        - name: pay
          label: {en: Payment, zh: 付款}
          approvers: [{department: finance}]
    """))
    today = dt.date.today()
    w.ap("fin_boss").delegate(w.ids["ctrl1"], (today + dt.timedelta(days=days[0])).isoformat(),
                              (today + dt.timedelta(days=days[1])).isoformat())
    rid = w.expense()
    w.submit(rid)
    (task,) = w.pending(rid).values()
    assert w.names[task.assignee_id] == "fin_boss" and task.on_behalf_of is None
    assert "delegate" not in [e[0] for e in w.events(rid)]


def test_delegation_validation(build):
    w = build(flow(CHECK))
    ap = w.ap("fin_boss")
    today = dt.date.today()
    cases = [
        ((w.ids["ctrl1"], today, today - dt.timedelta(days=1)), "ends_on"),
        ((w.ids["fin_boss"], today, today), "delegate_id"),
        ((987654, today, today), "delegate_id"),
        ((w.ids["ctrl_gone"], today, today), "delegate_id"),
        (("not a number", today, today), "delegate_id"),
        ((w.ids["ctrl1"], "someday", today), "starts_on"),
    ]
    for args, key in cases:
        with pytest.raises(RecordInvalid) as info:
            ap.delegate(*args)
        assert key in info.value.errors, args
    assert ap.delegations() == []
    with pytest.raises(NotFound):
        ap.end_delegation(123456)
    mine = ap.delegate(w.ids["ctrl1"], today, today)
    with pytest.raises(NotFound):  # one cannot end someone else's delegation
        w.ap("ctrl1").end_delegation(mine)
    assert len(ap.delegations()) == 1


# ------------------------------------------------------------------ time limits
def test_overdue_task_is_listed_and_reminded_to_the_approvers_manager_once(build):
    w = build(flow("""
        - name: check
          label: {en: Controller check, zh: 财务审核}
          approvers: [{users: [ctrl1]}]
          time_limit_hours: 4
    """))
    rid = w.expense(title="Conference fee")
    w.submit(rid)
    task = w.pending(rid)["ctrl1"]
    assert task.due_at == task.created_at + dt.timedelta(hours=4)
    assert not task.overdue()
    assert task.overdue(task.due_at + dt.timedelta(minutes=1))
    assert w.ap("ctrl1").inbox(overdue_only=True) == []
    assert w.ap("ctrl1").inbox()[0]["overdue"] is False
    assert w.ap("admin").send_reminders() == 0  # nothing is due yet

    # five hours later (the task is moved back in time rather than the clock forward)
    tk = w.site.tables.approval_task
    with w.site.writing() as c:
        c.execute(sa.update(tk).where(tk.c.id == task.id).values(
            created_at=task.created_at - dt.timedelta(hours=5), due_at=task.due_at - dt.timedelta(hours=5)))
    assert w.pending(rid)["ctrl1"].overdue()
    listed = w.ap("ctrl1").inbox(overdue_only=True)
    assert [r["id"] for r in listed] == [task.id] and listed[0]["overdue"] is True
    assert w.ap("admin").send_reminders(now=dt.datetime.now()) == 1
    notes = [n for n in w.rows("notification", kind="overdue")]
    assert [n["user_id"] for n in notes] == [w.ids["fin_boss"]]
    assert notes[0]["record_id"] == rid and "Conference fee" in notes[0]["text_en"] and "CTRL1" in notes[0]["text_en"]
    assert w.events(rid)[-1] == ("remind", "check", None)
    assert w.ap("admin").send_reminders(now=dt.datetime.now() + dt.timedelta(hours=1)) == 0
    assert len(w.rows("notification", kind="overdue")) == 1


def test_reminders_use_the_given_time(build):
    w = build(flow("""
        - name: check
          label: {en: Controller check, zh: 财务审核}
          approvers: [{users: [ctrl1]}]
          time_limit_hours: 2
    """))
    rid = w.expense()
    w.submit(rid)
    task = w.pending(rid)["ctrl1"]
    assert w.ap("admin").send_reminders(now=task.due_at - dt.timedelta(minutes=1)) == 0
    assert w.ap("admin").send_reminders(now=task.due_at + dt.timedelta(minutes=1)) == 1
    assert w.ap("admin").send_reminders(now=task.due_at + dt.timedelta(hours=9)) == 0


# ------------------------------------------------------------------ versions
def test_an_approval_in_flight_keeps_its_workflow_version(build):
    v1 = flow("""
        - name: check
          label: {en: Controller check, zh: 财务审核}
          approvers: [{role: controller}]
        - name: pay
          label: {en: Payment, zh: 付款}
          approvers: [{department: finance}]
    """)
    v2 = flow("""
        - name: check
          label: {en: Controller check, zh: 财务审核}
          approvers: [{role: controller}]
        - name: pay
          label: {en: Payment, zh: 付款}
          approvers: [{department: warehouse}]
        - name: audit
          label: {en: Audit, zh: 审计}
          approvers: [{users: [ceo]}]
    """, actions=ACTIONS.replace("status: approved, paid: true", "status: checked"))
    old = build(v1, folder="v1")
    in_flight = old.expense()
    first = old.submit(in_flight)

    new = build(v2, folder="v2")  # a new site over the same database, the document changed
    assert [s.name for s in new.site.metadata.workflows["claim"].steps] == ["check", "pay", "audit"]
    assert [s.name for s in new.current(in_flight)["workflow_def"].steps] == ["check", "pay"]
    new.approve("ctrl1", in_flight)
    assert list(new.pending(in_flight)) == ["fin_boss"]  # the old approver rule
    cur = new.approve("fin_boss", in_flight)
    assert cur["state"] == "approved"  # no audit step
    assert new.record(in_flight)["status"] == "approved" and new.record(in_flight)["paid"] is True  # old on_approve

    fresh = new.expense()
    second = new.submit(fresh)
    assert second["version_id"] != first["version_id"]
    assert [s.name for s in second["workflow_def"].steps] == ["check", "pay", "audit"]
    new.approve("ctrl2", fresh)
    assert list(new.pending(fresh)) == ["wh_boss"]
    new.approve("wh_boss", fresh)
    assert list(new.pending(fresh)) == ["ceo"]
    new.approve("ceo", fresh)
    assert new.record(fresh)["status"] == "checked" and new.record(fresh)["paid"] is False
    assert len(new.rows("workflow_version", workflow="claim")) == 2


def test_an_unchanged_workflow_reuses_its_stored_version(build):
    w = build(flow(CHECK))
    a, b = w.expense(), w.expense()
    assert w.submit(a)["version_id"] == w.submit(b)["version_id"]
    assert len(w.rows("workflow_version")) == 1


# ------------------------------------------------------------------ reassign
def test_admin_reassigns_a_task(build):
    w = build(flow("""
        - name: check
          label: {en: Controller check, zh: 财务审核}
          approvers: [{users: [ctrl1]}]
    """))
    rid = w.expense()
    w.submit(rid)
    task = w.pending(rid)["ctrl1"]
    with pytest.raises(Forbidden):
        w.ap("ctrl1").reassign(task.id, w.ids["ctrl2"])
    with pytest.raises(Forbidden):
        w.ap("rep1").reassign(task.id, w.ids["ctrl2"])
    with pytest.raises(NotFound):
        w.svc("stranger").get("expense", rid)
    cur = w.ap("admin").reassign(task.id, w.ids["stranger"], "ctrl1 is on leave")
    assert [(t.id, w.names[t.assignee_id]) for t in cur["tasks"]] == [(task.id, "stranger")]
    assert w.svc("stranger").get("expense", rid)["id"] == rid
    reassign = w.ap("admin").events("expense", rid)[-1]
    assert (reassign["action"], reassign["target_name"], reassign["comment"]) == ("reassign", "STRANGER", "ctrl1 is on leave")
    with pytest.raises(WorkflowError, match="handed this task to someone else"):
        w.ap("ctrl1").approve(task.id)  # his own until a moment ago: too late, not forbidden
    assert w.ap("stranger").approve(task.id)["state"] == "approved"
    with pytest.raises(WorkflowError):  # nothing left to reassign
        w.ap("admin").reassign(task.id, w.ids["ctrl2"])
    with pytest.raises(RecordInvalid):
        other = w.expense()
        w.submit(other)
        w.ap("admin").reassign(w.pending(other)["ctrl1"].id, w.ids["ctrl_gone"])


# ------------------------------------------------------------------ inbox
def test_inbox_filters_and_counts(build):
    w = build(flow(CHECK), flow("""
        - name: pay
          label: {en: Payment, zh: 付款}
          approvers: [{users: [ctrl1]}]
    """, name="urgent", head='priority: 1\nentry: "amount > 1000"\n'))
    small, big = w.expense(amount=10), w.expense(title="Server", amount=5000)
    w.submit(small)
    w.submit(big)
    ap = w.ap("ctrl1")
    assert ap.pending_count() == 2
    assert {r["record_id"] for r in ap.inbox()} == {small, big}
    assert [r["record_id"] for r in ap.inbox(workflow="urgent")] == [big]
    assert ap.inbox(entity="account") == []
    row = ap.inbox(workflow="urgent")[0]
    assert (row["title"], row["step_label"].en, row["workflow_label"].en, row["submitter_name"]) == (
        "Server", "Payment", "Urgent", "REP1")
    assert w.ap("ctrl2").pending_count() == 1
    assert w.ap("rep1").pending_count() == 0
    assert {a["record_id"] for a in w.ap("rep1").submitted()} == {small, big}


# ------------------------------------------------------------------ concurrency
ROUNDS = 4


def test_two_approvers_deciding_an_any_step_at_once_complete_it_once(build):
    w = build(flow(CHECK_THEN_PAY))
    for _ in range(ROUNDS):
        rid = w.expense()
        w.submit(rid)
        tasks = w.pending(rid)
        one, two = w.ap("ctrl1"), w.ap("ctrl2")  # separate services, made before the start
        results = race(lambda: one.approve(tasks["ctrl1"].id, "one"), lambda: two.approve(tasks["ctrl2"].id, "two"))
        outcomes = sorted(kind for kind, _ in results)
        assert outcomes == ["error", "ok"], results
        error = next(value for kind, value in results if kind == "error")
        assert isinstance(error, WorkflowError), repr(error)
        cur = w.current(rid)
        assert cur["state"] == "pending" and cur["step_no"] == 1
        assert [e[0] for e in w.events(rid)].count("approve") == 1
        check = sorted(t.state for t in cur["tasks"] if t.step == "check")
        assert check == ["approved", "cancelled"]
        pay = [t for t in cur["tasks"] if t.step == "pay"]
        assert [(w.names[t.assignee_id], t.state) for t in pay] == [("fin_boss", "pending")]


def test_two_approvers_deciding_an_all_step_at_once_both_count_and_it_completes_once(build):
    w = build(flow("""
        - name: check
          label: {en: Controller check, zh: 财务审核}
          approvers: [{role: controller}]
          mode: all
        - name: pay
          label: {en: Payment, zh: 付款}
          approvers: [{department: finance}]
          on_approve: {set: {note: paid}}
    """))
    for _ in range(ROUNDS):
        rid = w.expense()
        w.submit(rid)
        tasks = w.pending(rid)
        one, two = w.ap("ctrl1"), w.ap("ctrl2")
        results = race(lambda: one.approve(tasks["ctrl1"].id), lambda: two.approve(tasks["ctrl2"].id))
        assert [kind for kind, _ in results] == ["ok", "ok"], results
        cur = w.current(rid)
        assert cur["state"] == "pending" and cur["step_no"] == 1
        assert [t.state for t in cur["tasks"] if t.step == "check"] == ["approved", "approved"]
        pay = [t for t in cur["tasks"] if t.step == "pay"]
        assert [(w.names[t.assignee_id], t.state) for t in pay] == [("fin_boss", "pending")]
        assert [e[0] for e in w.events(rid)] == ["submit", "approve", "approve"]
        notified = [n for n in w.rows("notification", record_id=rid, kind="approval") if n["user_id"] == w.ids["fin_boss"]]
        assert len(notified) == 1


def test_approve_and_reject_at_once_leave_one_outcome(build):
    w = build(flow(CHECK))
    for _ in range(ROUNDS):
        rid = w.expense()
        w.submit(rid)
        tasks = w.pending(rid)
        one, two = w.ap("ctrl1"), w.ap("ctrl2")
        results = race(lambda: one.approve(tasks["ctrl1"].id), lambda: two.reject(tasks["ctrl2"].id, "no"))
        assert sorted(kind for kind, _ in results) == ["error", "ok"], results
        cur = w.current(rid)
        assert cur["state"] in ("approved", "rejected")
        decisions = [e[0] for e in w.events(rid) if e[0] in ("approve", "reject", "approved", "rejected")]
        assert decisions in (["approve", "approved"], ["reject", "rejected"])
        assert w.record(rid)["workflow_state"] == cur["state"]


def test_two_simultaneous_submits_of_one_record_start_one_approval(build):
    w = build(flow(CHECK))
    for _ in range(ROUNDS):
        rid = w.expense()
        one, two = w.ap("rep1"), w.ap("rep1")  # a double click: two requests of one user
        results = race(lambda: one.submit("expense", rid), lambda: two.submit("expense", rid))
        assert sorted(kind for kind, _ in results) == ["error", "ok"], results
        assert isinstance(next(v for k, v in results if k == "error"), WorkflowError)
        assert len(w.rows("approval", record_id=rid)) == 1
        assert [e[0] for e in w.events(rid)] == ["submit"]
        assert len(w.rows("approval_task", approval_id=w.current(rid)["id"])) == 2


def test_first_submits_of_a_new_workflow_version_at_once_both_start(build):
    """Right after a workflow changed, two people submit at the same moment: both start,
    on one stored version (the version row is created once, neither submit fails)."""
    w = build(*(flow(CHECK, name=f"claim_{n}", head=f'entry: "amount == {n + 1}"\n') for n in range(ROUNDS)))
    for n in range(ROUNDS):
        first, second = w.expense("rep1", amount=n + 1), w.expense("rep2", amount=n + 1)
        one, two = w.ap("rep1"), w.ap("rep2")
        results = race(lambda: one.submit("expense", first), lambda: two.submit("expense", second))
        assert [kind for kind, _ in results] == ["ok", "ok"], results
        assert results[0][1]["version_id"] == results[1][1]["version_id"]
        assert len(w.rows("workflow_version", workflow=f"claim_{n}")) == 1


def test_reminders_sent_at_once_from_two_places_remind_once(build):
    """Reminders run from cron and whenever an inbox opens, so two runs can overlap: the
    manager is still told once per overdue task."""
    w = build(flow("""
        - name: check
          label: {en: Controller check, zh: 财务审核}
          approvers: [{users: [ctrl1]}]
          time_limit_hours: 1
    """))
    for n in range(ROUNDS):
        rid = w.expense()
        w.submit(rid)
        due = w.pending(rid)["ctrl1"].due_at
        one, two = w.ap("admin"), w.ap("ceo")
        results = race(lambda: one.send_reminders(now=due + dt.timedelta(hours=1)),
                       lambda: two.send_reminders(now=due + dt.timedelta(hours=1)))
        assert [kind for kind, _ in results] == ["ok", "ok"], results
        assert sorted(value for _, value in results) == [0, 1]
        assert len(w.rows("notification", kind="overdue", record_id=rid)) == 1
        assert [e[0] for e in w.events(rid)].count("remind") == 1


# ------------------------------------------------------------------ accepted documents run
@pytest.mark.parametrize("value", ["since: '2024-01-31'", "next_call: '2024-01-31 10:30:00'", "owner_user: ctrl1"],
                         ids=["date", "datetime", "user"])
def test_a_value_the_metadata_accepts_is_set_at_run_time(db_url, tmp_path, value):
    """Either the document is refused when it loads (at the line of the value), or deciding
    sets the value; an accepted document must never make a decision fail in the database."""
    pack = write_flows(tmp_path / "flows", [flow(CHECK, entity="account", actions=f"on_approve:\n  set:\n    {value}\n")])
    try:
        site = make_site(db_url, tmp_path, packs=[FIXTURE_PACK, APPROVALS_PACK, pack])
    except MetadataError as exc:
        (problem,) = exc.problems
        lines = (pack / "workflows" / "flow_0.yaml").read_text(encoding="utf-8").splitlines()
        assert problem.file.endswith("workflows/flow_0.yaml"), str(problem)
        assert lines[problem.line - 1].strip() == value, str(problem)
        return
    try:
        w = World(site)
        rid = w.svc("admin").create("account", {"name": "Acme"})["id"]
        w.submit(rid, "admin", entity="account")
        w.approve("ctrl1", rid, entity="account")  # fails here when the value cannot be stored
        expected = {"since": dt.date(2024, 1, 31), "next_call": dt.datetime(2024, 1, 31, 10, 30),
                    "owner_user": w.ids["ctrl1"]}
        name = value.split(":")[0]
        assert w.record(rid, "account")[name] == expected[name]
    finally:
        site.engine.dispose()


# ------------------------------------------------------------------ the base workflows
REAL_DEPARTMENTS = {
    "general_office": ("General manager's office", None, "gm"),
    "sales": ("Sales", "general_office", "sales_mgr"),
    "finance": ("Finance", "general_office", "fin_mgr"),
    "warehouse": ("Warehouse", "general_office", "wh_mgr"),
    "commerce": ("Commerce", "general_office", "com_mgr"),
    "service": ("After-sales service", "general_office", "svc_mgr"),
}
REAL_PEOPLE = {
    "admin": (None, (), True),
    "gm": ("general_office", ("general_manager",), True),
    "sales_mgr": ("sales", ("sales_manager",), True),
    "rep": ("sales", ("sales_rep",), True),
    "fin_mgr": ("finance", ("order_reviewer",), True),
    "wh_mgr": ("warehouse", ("order_reviewer",), True),
    "com_mgr": ("commerce", ("order_reviewer",), True),
    "svc_mgr": ("service", ("service_manager",), True),
    "engineer": ("service", ("service_engineer",), True),
    "maint": ("general_office", ("product_maintainer",), True),
}


@pytest.fixture
def real(db_url, tmp_path):
    site = make_site(db_url, tmp_path, packs=real_packs())
    yield World(site, REAL_DEPARTMENTS, REAL_PEOPLE)
    site.engine.dispose()


def _quote(real: World, discount) -> int:
    customer = real.create("rep", "customer", name=f"Customer {discount}", category="customer")
    return real.create("rep", "quote", subject=f"Quote at {discount}%", customer=customer, discount_percent=discount)


def test_base_quote_discount_over_10_goes_to_the_reps_sales_manager(real):
    rid = _quote(real, 15)
    cur = real.submit(rid, "rep", entity="quote")
    assert cur["workflow"] == "quote_discount"
    assert real.record(rid, "quote")["status"] == "pending_approval"
    assert list(real.pending(rid, "quote")) == ["sales_mgr"]
    cur = real.approve("sales_mgr", rid, entity="quote")
    assert cur["state"] == "approved"
    assert ("skip", "general_manager", None) in real.events(rid, "quote")
    assert real.record(rid, "quote")["status"] == "approved"


def test_base_quote_discount_over_20_needs_the_general_manager_too(real):
    rid = _quote(real, 25)
    real.submit(rid, "rep", entity="quote")
    real.approve("sales_mgr", rid, entity="quote")
    assert list(real.pending(rid, "quote")) == ["gm"]
    assert real.record(rid, "quote")["status"] == "pending_approval"
    assert real.approve("gm", rid, entity="quote")["state"] == "approved"
    assert real.record(rid, "quote")["status"] == "approved"


def test_base_quote_with_small_discount_cannot_be_submitted(real):
    rid = _quote(real, 5)
    with pytest.raises(WorkflowError):
        real.submit(rid, "rep", entity="quote")
    assert real.record(rid, "quote")["status"] == "draft"
    assert real.current(rid, "quote") is None


def test_base_quote_rejected_goes_back_to_draft(real):
    rid = _quote(real, 30)
    real.submit(rid, "rep", entity="quote")
    real.ap("sales_mgr").reject(real.pending(rid, "quote")["sales_mgr"].id, "Too generous")
    assert real.record(rid, "quote")["status"] == "draft"
    assert real.record(rid, "quote")["workflow_state"] == "rejected"


def test_base_order_signoff_needs_finance_warehouse_and_commerce(real):
    customer = real.create("rep", "customer", name="Order customer", category="customer")
    rid = real.create("rep", "sales_order", subject="First order", customer=customer)
    cur = real.submit(rid, "rep", entity="sales_order")
    assert cur["workflow"] == "order_signoff"
    assert sorted(real.pending(rid, "sales_order")) == ["com_mgr", "fin_mgr", "wh_mgr"]
    real.approve("fin_mgr", rid, entity="sales_order")
    real.approve("wh_mgr", rid, entity="sales_order")
    assert real.current(rid, "sales_order")["state"] == "pending"
    assert real.record(rid, "sales_order")["status"] == "draft"
    assert real.approve("com_mgr", rid, entity="sales_order")["state"] == "approved"
    assert real.record(rid, "sales_order")["status"] == "confirmed"


def test_base_knowledge_article_goes_draft_submitted_reviewed_published(real):
    rid = real.create("engineer", "knowledge_article", title="Reset the router", content="<p>Hold the button.</p>")
    article = lambda: real.record(rid, "knowledge_article")  # noqa: E731
    assert article()["status"] == "draft"
    real.submit(rid, "engineer", entity="knowledge_article")
    assert article()["status"] == "submitted"
    assert list(real.pending(rid, "knowledge_article")) == ["svc_mgr"]
    real.approve("svc_mgr", rid, entity="knowledge_article")
    assert article()["status"] == "reviewed"
    assert list(real.pending(rid, "knowledge_article")) == ["maint"]
    assert real.approve("maint", rid, entity="knowledge_article")["state"] == "approved"
    assert article()["status"] == "published" and article()["workflow_state"] == "approved"
    with pytest.raises(WorkflowError):  # the entry condition: only drafts
        real.submit(rid, "engineer", entity="knowledge_article")


def test_base_feedback_is_routed_to_the_manager_of_the_named_department(real):
    ids = {}
    for dept in ("warehouse", "finance"):
        ids[dept] = real.create("engineer", "feedback", subject=f"To {dept}", type="complaint", department=dept,
                                content="Something went wrong")
        real.submit(ids[dept], "engineer", entity="feedback")
        assert real.record(ids[dept], "feedback")["status"] == "submitted"
    assert list(real.pending(ids["warehouse"], "feedback")) == ["wh_mgr"]
    assert list(real.pending(ids["finance"], "feedback")) == ["fin_mgr"]
    task = real.pending(ids["warehouse"], "feedback")["wh_mgr"]
    assert task.due_at == task.created_at + dt.timedelta(hours=24)
    real.approve("wh_mgr", ids["warehouse"], entity="feedback")
    assert real.record(ids["warehouse"], "feedback")["status"] == "in_progress"


# ------------------------------------------------------------------ after approval
def test_an_approved_record_is_not_offered_for_approval_again_until_it_changes(build):
    w = build(flow(CHECK, head='entry: "amount > 10"\n'))
    rid = w.expense(amount=50)
    w.submit(rid)
    w.approve("ctrl1", rid)
    rep = w.svc("rep1")
    assert rep.approvals.can_submit("expense", rep.get("expense", rid)) is None
    record = rep.update("expense", rid, {"note": "receipt attached"}, w.record(rid)["row_version"])
    assert record["workflow_state"] == "approved" and record["status"] == "approved"  # a note does not void it
    assert rep.approvals.can_submit("expense", record).name == "claim"  # but it may be submitted again


def test_changing_what_an_approval_was_based_on_voids_it(build):
    """A claim approved for 50 whose amount becomes 5,000 is no longer approved: it takes the
    workflow's on_reject values, says so on its timeline and can be submitted again."""
    w = build(flow(CHECK, head='entry: "amount > 10"\n'))
    rid = w.expense(amount=50)
    w.submit(rid)
    w.approve("ctrl1", rid)
    rep = w.svc("rep1")
    record = rep.update("expense", rid, {"amount": "5000"}, w.record(rid)["row_version"])
    assert record["workflow_state"] is None and record["status"] == "rejected" and record["amount"] == 5000
    assert [e[0] for e in w.events(rid)][-1] == "void"
    assert ("status", "approved", "rejected") in [(h["field"], h["old_value"], h["new_value"])
                                                  for h in rep.history("expense", rid)]
    assert rep.approvals.can_submit("expense", record).name == "claim"
    w.submit(rid)
    assert w.current(rid)["state"] == "pending"


def test_fields_the_workflow_sets_itself_never_void_it(build):
    """An entry condition on the status the workflow moves along (draft -> ... -> approved)
    must not void the approval when the status moves on after it (approved -> archived)."""
    w = build(flow(CHECK, head='entry: "status == \'draft\'"\n'))
    rid = w.expense()
    w.submit(rid)
    w.approve("ctrl1", rid)
    statuses = [o.key for o in w.site.metadata.picklists["expense_status"].options]
    later = next(key for key in statuses if key not in ("draft", "approved", "submitted", "rejected", "recalled"))
    record = w.svc("rep1").update("expense", rid, {"status": later}, w.record(rid)["row_version"])
    assert record["workflow_state"] == "approved" and record["status"] == later


def test_an_edit_racing_with_the_submit_is_refused_not_lost(build):
    """The rep's edit form was open when the record was submitted: saving it now is a
    conflict (the submit changed the row version), never an edit of a locked record."""
    from kehu.errors import Conflict

    w = build(flow(CHECK, actions=""))  # a workflow that sets nothing on submit
    rid = w.expense()
    seen = w.record(rid)["row_version"]
    w.submit(rid)
    with pytest.raises((Conflict, Locked)):
        w.svc("rep1").update("expense", rid, {"note": "typed before the submit"}, seen)
    assert w.record(rid)["note"] is None


def test_a_big_discount_cannot_be_marked_approved_by_hand(real):
    """The base quote's rule: over 10% a quote becomes approved only through its workflow;
    after the workflow approved it, it moves on (sent) as usual, and a small discount needs
    no approval at all."""
    rep = real.svc("rep")
    rid = _quote(real, 25)
    for status in ("approved", "pending_approval"):
        with pytest.raises(RecordInvalid) as refused:
            rep.update("quote", rid, {"status": status}, real.record(rid, "quote")["row_version"])
        assert "Submit for approval" in " ".join(refused.value.errors["status"])
    with pytest.raises(RecordInvalid):
        rep.create("quote", {"subject": "Approved at once", "customer": real.record(rid, "quote")["customer"],
                             "discount_percent": "30", "status": "approved"})
    real.submit(rid, "rep", entity="quote")
    real.approve("sales_mgr", rid, entity="quote")
    real.approve("gm", rid, entity="quote")
    sent = rep.update("quote", rid, {"status": "sent"}, real.record(rid, "quote")["row_version"])
    assert sent["status"] == "sent" and sent["workflow_state"] == "approved"
    small = _quote(real, 5)
    assert rep.update("quote", small, {"status": "approved"}, real.record(small, "quote")["row_version"])["status"] == "approved"
