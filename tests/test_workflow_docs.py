"""Workflow documents (``kind: workflow``): every kind of mistake is reported as one problem
naming the file and the line of the culprit with a message that says what to fix, and a
later pack changes a workflow the documented way (label, entry, steps by name, ``after``,
``enabled: false``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kehu.metadata import MetadataError, load_metadata
from kehu.metadata.problems import Problem
from kehu.plugins import field_type_registry, make_plugin_manager
from kehu_testing import FIXTURE_PACK, line_of, real_packs, write

REGISTRY = field_type_registry(make_plugin_manager())
FILE = "base/workflows/claim.yaml"

# a valid workflow over the fixture pack's account; tests change one line of it
GOOD = """\
kind: workflow
name: claim
label: {en: Account approval, zh: 客户审批}
entity: account
entry: "employees > 10"
priority: 20
on_submit:
  set:
    status: submitted
on_approve:
  set:
    status: approved
    tier: a
on_reject:
  set:
    status: draft
steps:
  - name: check
    label: {en: Check, zh: 审核}
    approvers:
      - role: editor
    mode: any
    time_limit_hours: 24
  - name: boss
    label: {en: Manager, zh: 经理}
    when: "tier == 'a'"
    approvers:
      - manager: submitter
      - field: owner_user
    mode: all
    on_approve:
      set:
        discount: 5
"""


# --------------------------------------------------------------------- helpers
def new_pack(root: Path, name: str = "extra", requires=("base",)) -> Path:
    folder = root / name
    write(folder, "metadata/pack.yaml",
          f"kind: pack\nname: {name}\nlabel: {{en: {name}, zh: {name}}}\nversion: '1.0'\nrequires: [{', '.join(requires)}]\n")
    return folder


def problems(*packs) -> list[Problem]:
    with pytest.raises(MetadataError) as info:
        load_metadata(list(packs), REGISTRY)
    return list(info.value.problems)


@pytest.fixture
def work(tmp_path, monkeypatch):
    """tmp_path as the working directory (problems name files relative to it) and a copy of
    the fixture pack at ``base/``."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(FIXTURE_PACK, tmp_path / "base")
    return tmp_path


def changed(old: str, new: str, text: str = GOOD) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def only_problem(work: Path, text: str, needle: str, nth: int = 1) -> Problem:
    """Load the base pack with ``text`` as its workflow: exactly one problem, in that file,
    on the line holding ``needle``."""
    path = write(work / "base", "workflows/claim.yaml", text)
    found = problems(work / "base")
    assert len(found) == 1, "\n".join(map(str, found))
    problem = found[0]
    assert problem.file == FILE
    assert problem.line == line_of(path, needle, nth), str(problem)
    assert str(problem).startswith(f"{FILE}:{problem.line}: ")
    return problem


# --------------------------------------------------------------------- valid documents
def test_the_valid_document_loads_with_everything_it_says(work):
    write(work / "base", "workflows/claim.yaml", GOOD)
    meta = load_metadata([work / "base"], REGISTRY)
    wf = meta.workflows["claim"]
    assert (wf.entity, wf.entry, wf.priority, wf.enabled, wf.label.zh) == ("account", "employees > 10", 20, True, "客户审批")
    assert dict(wf.on_submit) == {"status": "submitted"}
    assert dict(wf.on_approve) == {"status": "approved", "tier": "a"}
    assert dict(wf.on_recall) == {}
    check, boss = wf.steps
    assert (check.name, check.mode, check.time_limit_hours, check.when) == ("check", "any", 24, None)
    assert [(a.kind, a.value) for a in check.approvers] == [("role", "editor")]
    assert (boss.mode, boss.when, dict(boss.on_approve)) == ("all", "tier == 'a'", {"discount": 5})
    assert [(a.kind, a.value) for a in boss.approvers] == [("manager", "submitter"), ("field", "owner_user")]
    assert [w.name for w in meta.workflows_of("account")] == ["claim"]
    assert meta.workflows_of("visit") == []


def test_the_base_workflows_load_from_the_real_packs():
    meta = load_metadata(real_packs(), REGISTRY)
    assert {n: w.entity for n, w in meta.workflows.items()} == {
        "quote_discount": "quote", "order_signoff": "sales_order",
        "knowledge_review": "knowledge_article", "feedback_routing": "feedback",
    }
    assert [s.name for s in meta.workflows["knowledge_review"].steps] == ["review", "publish"]
    assert meta.workflows["order_signoff"].steps[0].mode == "all"


@pytest.mark.parametrize("rule", ["field: owner", "field: created_by", "department_field: status", "department_field: tier",
                                  "users: [alice, bob]", "department: finance", "manager: owner", "manager_chain: 3"])
def test_every_kind_of_approver_rule_is_accepted(work, rule):
    write(work / "base", "workflows/claim.yaml", changed("      - role: editor", f"      - {rule}"))
    meta = load_metadata([work / "base"], REGISTRY)
    kind = rule.split(":")[0]
    assert meta.workflows["claim"].steps[0].approvers[0].kind == kind


# --------------------------------------------------------------------- what it runs on
def test_unknown_entity(work):
    p = only_problem(work, changed("entity: account", "entity: acount"), "entity: acount")
    assert "unknown entity 'acount'" in p.message and "Did you mean 'account'?" in p.message


def test_a_line_entity_cannot_have_a_workflow(work):
    text = """\
    kind: workflow
    name: lines
    label: {en: Lines, zh: 明细}
    entity: account_line
    steps:
      - name: check
        label: {en: Check, zh: 审核}
        approvers: [{role: editor}]
    """
    p = only_problem(work, text, "entity: account_line")
    assert "'account_line' is a line of 'account'" in p.message
    assert "submit the 'account' instead" in p.message


# --------------------------------------------------------------------- approvers
def test_unknown_role(work):
    p = only_problem(work, changed("      - role: editor", "      - role: edtor"), "role: edtor")
    assert "unknown role 'edtor'" in p.message and "Did you mean 'editor'?" in p.message


def test_approver_field_that_is_not_a_user_field(work):
    p = only_problem(work, changed("      - field: owner_user", "      - field: name"), "field: name")
    assert "'name' is a text field" in p.message and "user field" in p.message


def test_approver_field_that_does_not_exist(work):
    p = only_problem(work, changed("      - field: owner_user", "      - field: owner_usr"), "field: owner_usr")
    assert "unknown field 'owner_usr' of entity 'account'" in p.message
    assert "Did you mean 'owner_user'?" in p.message


def test_department_field_of_the_wrong_type(work):
    p = only_problem(work, changed("      - field: owner_user", "      - department_field: employees"),
                     "department_field: employees")
    assert "'employees' is a integer field" in p.message or "'employees' is an integer field" in p.message
    assert "picklist or text field" in p.message


def test_department_field_that_does_not_exist(work):
    p = only_problem(work, changed("      - field: owner_user", "      - department_field: departement"),
                     "department_field: departement")
    assert "unknown field 'departement' of entity 'account'" in p.message


# --------------------------------------------------------------------- expressions
def test_entry_with_a_syntax_error(work):
    p = only_problem(work, changed('entry: "employees > 10"', 'entry: "employees >"'), "entry:")
    assert p.path == "entry"
    assert "bad expression 'employees >'" in p.message and "does not parse" in p.message


def test_entry_reading_an_unknown_field(work):
    p = only_problem(work, changed('entry: "employees > 10"', 'entry: "employes > 10"'), "entry:")
    assert "unknown field 'employes'" in p.message and "employees" in p.message


def test_step_when_with_a_syntax_error(work):
    p = only_problem(work, changed("""when: "tier == 'a'\"""", 'when: "tier =="'), "when:")
    assert p.path == "steps.1.when"
    assert "bad expression 'tier =='" in p.message and "does not parse" in p.message


def test_step_when_reading_an_unknown_field(work):
    p = only_problem(work, changed("""when: "tier == 'a'\"""", """when: "tire == 'a'\""""), "when:")
    assert "unknown field 'tire'" in p.message and "tier" in p.message


# --------------------------------------------------------------------- values set
def test_set_of_an_unknown_field(work):
    p = only_problem(work, changed("    tier: a", "    tiers: a"), "tiers: a")
    assert p.path == "on_approve.set.tiers"
    assert "unknown field 'tiers' of entity 'account'" in p.message and "Did you mean 'tier'?" in p.message


def test_set_of_a_system_field(work):
    p = only_problem(work, changed("    tier: a", "    owner: 1"), "owner: 1")
    assert "set by the system" in p.message


@pytest.mark.parametrize(("line", "kind"), [("    lines_total: 5", "formula"), ("    code: AC-1", "autonumber"),
                                            ("    contract: x.pdf", "attachment"), ("    lines: x", "child_table")])
def test_set_of_a_field_a_workflow_cannot_set(work, line, kind):
    p = only_problem(work, changed("    tier: a", line), line.strip())
    assert f"is a {kind} field and cannot be set by a workflow" in p.message


def test_set_of_a_picklist_value_that_is_not_an_option(work):
    p = only_problem(work, changed("    tier: a", "    tier: gold"), "tier: gold")
    assert "'gold' is not an option of 'tier'" in p.message


def test_set_of_a_non_number_for_a_number_field(work):
    p = only_problem(work, changed("        discount: 5", "        discount: lots"), "discount: lots")
    assert p.path == "steps.1.on_approve.set.discount"
    assert "'discount' is a number field; set it to a number" in p.message


def test_set_of_a_non_boolean_for_a_yes_no_field(work):
    p = only_problem(work, changed("    tier: a", "    active: 'yes'"), "active: 'yes'")
    assert "yes/no field" in p.message


def test_set_problems_are_found_in_every_action(work):
    text = changed("    status: draft", "    stauts: draft")
    text = changed("    status: submitted", "    tier: z", text)
    path = write(work / "base", "workflows/claim.yaml", text)
    found = sorted(problems(work / "base"), key=lambda p: p.line)
    assert [(p.file, p.line) for p in found] == [(FILE, line_of(path, "tier: z")), (FILE, line_of(path, "stauts: draft"))]


# --------------------------------------------------------------------- steps
def test_duplicate_step_names(work):
    p = only_problem(work, changed("  - name: boss", "  - name: check"), "- name: check", nth=2)
    assert "duplicate step 'check'" in p.message


def test_missing_workflow_label(work):
    p = only_problem(work, changed("label: {en: Account approval, zh: 客户审批}\n", ""), "name: claim")
    assert "workflow 'claim' needs a 'label'" in p.message


def test_missing_step_label(work):
    p = only_problem(work, changed("    label: {en: Manager, zh: 经理}\n", ""), "- name: boss")
    assert "step 'boss' needs a 'label'" in p.message


def test_missing_approvers_on_a_step(work):
    p = only_problem(work, changed("    approvers:\n      - role: editor\n", ""), "- name: check")
    assert "step 'check' needs 'approvers'" in p.message


def test_a_workflow_without_steps(work):
    text = GOOD[:GOOD.index("steps:")]
    p = only_problem(work, text, "kind: workflow")  # nothing to point at: the document
    assert "at least one step" in p.message


# --------------------------------------------------------------------- shape (schema)
def test_unknown_property(work):
    p = only_problem(work, changed("priority: 20", "priorty: 20"), "priorty")
    assert "unknown property 'priorty'" in p.message and "Did you mean 'priority'?" in p.message


def test_unknown_step_property(work):
    p = only_problem(work, changed("    mode: any", "    mod: any"), "mod: any")
    assert "unknown property 'mod'" in p.message and "Did you mean 'mode'?" in p.message


def test_bad_mode(work):
    p = only_problem(work, changed("    mode: any", "    mode: every"), "mode: every")
    assert "'every' is not one of ['any', 'all']" in p.message


def test_an_approver_with_two_rules(work):
    p = only_problem(work, changed("      - role: editor", "      - {role: editor, manager: submitter}"), "role: editor, manager")
    assert p.path == "steps.0.approvers.0"
    assert "too many properties" in p.message


def test_an_empty_approver(work):
    p = only_problem(work, changed("      - role: editor", "      - {}"), "- {}")
    assert p.path == "steps.0.approvers.0"
    assert "empty" in p.message


def test_an_unknown_approver_kind(work):
    p = only_problem(work, changed("      - role: editor", "      - team: sales"), "team: sales")
    assert "unknown property 'team'" in p.message


def test_a_bad_manager_value(work):
    p = only_problem(work, changed("      - manager: submitter", "      - manager: boss"), "manager: boss")
    assert "'boss' is not one of ['submitter', 'owner']" in p.message


def test_a_bad_time_limit(work):
    p = only_problem(work, changed("    time_limit_hours: 24", "    time_limit_hours: 0"), "time_limit_hours: 0")
    assert "time_limit_hours" in p.path


# --------------------------------------------------------------------- later packs
def _base_and_extra(work: Path, extra_text: str) -> tuple[Path, Path]:
    write(work / "base", "workflows/claim.yaml", GOOD)
    extra = new_pack(work)
    return extra, write(extra, "workflows/claim.yaml", extra_text)


def test_a_later_pack_cannot_change_the_entity(work):
    extra, path = _base_and_extra(work, """\
    kind: workflow
    name: claim
    entity: visit
    """)
    (p,) = problems(work / "base", extra)
    assert (p.file, p.line) == ("extra/workflows/claim.yaml", line_of(path, "entity: visit"))
    assert "cannot change its entity" in p.message and FILE in p.message and "'account'" in p.message


def test_after_naming_an_unknown_step(work):
    extra, path = _base_and_extra(work, """\
    kind: workflow
    name: claim
    entity: account
    steps:
      - name: legal
        label: {en: Legal, zh: 法务}
        after: chek
        approvers: [{role: manager}]
    """)
    (p,) = problems(work / "base", extra)
    assert (p.file, p.line) == ("extra/workflows/claim.yaml", line_of(path, "after: chek"))
    assert "has no step 'chek'" in p.message and "Did you mean 'check'?" in p.message


def test_after_naming_an_unknown_step_on_a_step_the_later_pack_changes(work):
    """``after`` on a step that exists already: a typo in the anchor must not pass unnoticed."""
    extra, path = _base_and_extra(work, """\
    kind: workflow
    name: claim
    entity: account
    steps:
      - name: check
        after: bos
        mode: all
    """)
    found = problems(work / "base", extra)
    assert [(p.file, p.line) for p in found] == [("extra/workflows/claim.yaml", line_of(path, "after: bos"))]
    assert "'bos'" in found[0].message


def test_after_naming_an_unknown_step_in_the_defining_document(work):
    """In the document that defines the workflow an ``after`` naming no step is a mistake
    too (it is not silently ignored)."""
    text = GOOD + """\
  - name: legal
    label: {en: Legal, zh: 法务}
    after: chek
    approvers:
      - role: manager
"""
    p = only_problem(work, text, "after: chek")
    assert "'chek'" in p.message


def test_a_new_step_in_a_later_pack_needs_approvers_and_a_label(work):
    extra, path = _base_and_extra(work, """\
    kind: workflow
    name: claim
    entity: account
    steps:
      - name: legal
        after: check
    """)
    found = problems(work / "base", extra)
    assert {(p.file, p.line) for p in found} == {("extra/workflows/claim.yaml", line_of(path, "- name: legal"))}
    messages = " | ".join(p.message for p in found)
    assert "needs 'approvers'" in messages and "needs a 'label'" in messages


def test_a_later_pack_workflow_of_its_own_needs_a_label(work):
    extra = new_pack(work)
    path = write(extra, "workflows/other.yaml", """\
    kind: workflow
    name: other
    entity: visit
    steps:
      - name: check
        label: {en: Check, zh: 审核}
        approvers: [{role: manager}]
    """)
    (p,) = problems(work / "base", extra)
    assert (p.file, p.line) == ("extra/workflows/other.yaml", line_of(path, "name: other"))


def test_a_later_pack_problem_points_at_the_later_file(work):
    extra, path = _base_and_extra(work, """\
    kind: workflow
    name: claim
    entity: account
    on_recall:
      set:
        tier: platinum
    steps:
      - name: boss
        approvers:
          - role: nobody
    """)
    found = sorted(problems(work / "base", extra), key=lambda p: p.line)
    assert [(p.file, p.line) for p in found] == [
        ("extra/workflows/claim.yaml", line_of(path, "tier: platinum")),
        ("extra/workflows/claim.yaml", line_of(path, "role: nobody")),
    ]


def test_later_pack_overrides_label_entry_priority_and_actions(work):
    extra, _ = _base_and_extra(work, """\
    kind: workflow
    name: claim
    label: {en: Key account approval, zh: 重点客户审批}
    entity: account
    entry: "employees > 500"
    priority: 5
    on_approve:
      set:
        tier: b
    """)
    wf = load_metadata([work / "base", extra], REGISTRY).workflows["claim"]
    assert wf.label.en == "Key account approval" and wf.entry == "employees > 500" and wf.priority == 5
    assert dict(wf.on_approve) == {"tier": "b"}
    assert dict(wf.on_submit) == {"status": "submitted"}  # not mentioned: kept
    assert [s.name for s in wf.steps] == ["check", "boss"]


def test_later_pack_changes_a_steps_approvers_by_name(work):
    extra, _ = _base_and_extra(work, """\
    kind: workflow
    name: claim
    entity: account
    steps:
      - name: boss
        approvers:
          - department: finance
    """)
    wf = load_metadata([work / "base", extra], REGISTRY).workflows["claim"]
    check, boss = wf.steps
    assert [(a.kind, a.value) for a in boss.approvers] == [("department", "finance")]
    assert (boss.label.en, boss.mode, boss.when) == ("Manager", "all", "tier == 'a'")  # the rest is kept
    assert [(a.kind, a.value) for a in check.approvers] == [("role", "editor")]


def test_later_pack_inserts_a_step_after_a_named_one_and_appends_without_after(work):
    extra, _ = _base_and_extra(work, """\
    kind: workflow
    name: claim
    entity: account
    steps:
      - name: legal
        label: {en: Legal, zh: 法务}
        after: check
        approvers: [{role: manager}]
      - name: archive
        label: {en: Archive, zh: 归档}
        approvers: [{users: [admin]}]
    """)
    wf = load_metadata([work / "base", extra], REGISTRY).workflows["claim"]
    assert [s.name for s in wf.steps] == ["check", "legal", "boss", "archive"]
    assert wf.step("legal").label.zh == "法务"
    assert "after" not in wf.raw["steps"][1]


def test_later_pack_disables_a_workflow(work):
    extra, _ = _base_and_extra(work, """\
    kind: workflow
    name: claim
    entity: account
    enabled: false
    """)
    meta = load_metadata([work / "base", extra], REGISTRY)
    assert meta.workflows["claim"].enabled is False
    assert meta.workflows_of("account") == []


def test_later_pack_priority_reorders_workflows(work):
    write(work / "base", "workflows/claim.yaml", GOOD)
    write(work / "base", "workflows/quick.yaml", changed("name: claim", "name: quick").replace("priority: 20", "priority: 30"))
    meta = load_metadata([work / "base"], REGISTRY)
    assert [w.name for w in meta.workflows_of("account")] == ["claim", "quick"]
    extra = new_pack(work)
    write(extra, "workflows/quick.yaml", "kind: workflow\nname: quick\nentity: account\npriority: 1\n")
    meta = load_metadata([work / "base", extra], REGISTRY)
    assert [w.name for w in meta.workflows_of("account")] == ["quick", "claim"]
