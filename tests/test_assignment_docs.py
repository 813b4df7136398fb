"""Fields that grant access (``grants``, ``grants_manager``) and assignment documents
(``kind: assignment``): each mistake is one problem naming the file, the line and what to
fix; a valid document loads with everything it says, and a later pack adds rules in place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kehu.metadata import MetadataError, load_metadata
from kehu.metadata.problems import Problem
from kehu.plugins import field_type_registry, make_plugin_manager
from kehu_testing import FIXTURE_PACK, line_of, real_packs, write

REGISTRY = field_type_registry(make_plugin_manager())
FILE = "base/metadata/assignment/accounts.yaml"

# a valid assignment over the fixture pack's account; tests change one line of it
GOOD = """\
kind: assignment
name: accounts
label: {en: Account dispatch, zh: 客户分派}
entity: account
field: owner_user
owner: true
open:
  field: tier
  values: [a, b]
urgency:
  field: tier
  order: [a, b]
since: since
set: {status: dispatched}
notify: {role: manager}
rules:
  - name: key_accounts
    label: {en: Key accounts to the least loaded manager, zh: 重点客户派给负荷最小的经理}
    when: "tier == 'a'"
    strategy: least_loaded
    pool: {role: manager}
  - name: by_province
    label: {en: Reps of the province take turns, zh: 本省代表轮流}
    strategy: round_robin
    pool: {role: rep, department: sales, team: 大客户组}
    match:
      - {field: province, attribute: region}
"""


def problems(*packs) -> list[Problem]:
    with pytest.raises(MetadataError) as info:
        load_metadata(list(packs), REGISTRY)
    return list(info.value.problems)


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(FIXTURE_PACK, tmp_path / "base")
    return tmp_path


def changed(old: str, new: str, text: str = GOOD) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def only_problem(work: Path, text: str, needle: str, rel: str = "metadata/assignment/accounts.yaml") -> Problem:
    path = write(work / "base", rel, text)
    found = problems(work / "base")
    assert len(found) == 1, "\n".join(map(str, found))
    problem = found[0]
    assert problem.file == f"base/{rel}"
    assert problem.line == line_of(path, needle), str(problem)
    return problem


def test_the_valid_document_loads_with_everything_it_says(work):
    write(work / "base", "metadata/assignment/accounts.yaml", GOOD)
    meta = load_metadata([work / "base"], REGISTRY)
    a = meta.assignment_for("account")
    assert (a.name, a.field, a.owner, a.open_field, a.open_values) == ("accounts", "owner_user", True, "tier", ("a", "b"))
    assert (a.urgency_field, a.urgency_order, a.since, dict(a.set), dict(a.notify)) == (
        "tier", ("a", "b"), "since", {"status": "dispatched"}, {"role": "manager"})
    first, second = a.rules
    assert (first.name, first.when, first.strategy, dict(first.pool), first.match) == (
        "key_accounts", "tier == 'a'", "least_loaded", {"role": "manager"}, ())
    assert (second.strategy, dict(second.pool), second.match) == (
        "round_robin", {"role": "rep", "department": "sales", "team": "大客户组"}, (("province", "region"),))
    assert a.attributes() == {"region": "province"}
    assert meta.assignment_for("visit") is None


def test_the_real_packs_dispatch_service_requests_and_repair_orders():
    meta = load_metadata(real_packs(), REGISTRY)
    sr = meta.assignment_for("service_request")
    assert (sr.field, sr.open_field, sr.urgency_field, dict(sr.set)) == ("engineer", "status", "priority", {"status": "assigned"})
    assert [r.name for r in sr.rules] == ["urgent", "by_skill"]
    assert meta.assignment_for("repair_order").field == "engineer"
    assert meta.entity("service_request").field("engineer").grants("write")
    assert meta.entity("feedback").field("handler").grants("read")
    assert meta.entity("feedback").field("department").grants("write", "grants_manager")
    assert not meta.entity("feedback").field("department").grants("read")  # that one is a manager's grant


@pytest.mark.parametrize("old, new, needle, message", [
    ("entity: account", "entity: acount", "entity: acount", "unknown entity 'acount'. Did you mean 'account'?"),
    ("entity: account", "entity: account_line", "entity: account_line", "'account_line' is a line of 'account'; dispatch the 'account' instead"),
    ("field: owner_user", "field: name", "field: name", "'name' is a text field; a dispatch sets a user field"),
    ("field: owner_user", "field: owner_usr", "field: owner_usr", "unknown field 'owner_usr' of entity 'account'. Did you mean 'owner_user'?"),
    ("  field: tier\n  values", "  field: name\n  values", "field: name", "'name' is a text field; a picklist field is needed here"),
    ("values: [a, b]", "values: [a, c]", "values: [a, c]", "'c' is not an option of 'tier'."),
    ("order: [a, b]", "order: [a, z]", "order: [a, z]", "'z' is not an option of 'tier'."),
    ("since: since", "since: name", "since: name", "'name' is a text field; the age comes from a date or datetime field"),
    ("set: {status: dispatched}", "set: {lines_total: 1}", "set: {lines_total: 1}", "'lines_total' is a formula field and cannot be set"),
    ("notify: {role: manager}", "notify: {role: boss}", "notify: {role: boss}", "unknown role 'boss'."),
    ("pool: {role: manager}", "pool: {role: managr}", "pool: {role: managr}", "unknown role 'managr'. Did you mean 'manager'?"),
    ("when: \"tier == 'a'\"", "when: \"tierr == 'a'\"", "tierr", "bad expression"),
    ("- {field: province, attribute: region}", "- {field: employees, attribute: region}", "field: employees", "'employees' is an integer field; a picklist field is needed here"),
    ("strategy: round_robin", "strategy: random", "strategy: random", "'random' is not one of ['round_robin', 'least_loaded']"),
    ("    pool: {role: manager}\n", "", "name: key_accounts", "rule 'key_accounts' needs a 'pool'"),
])
def test_each_mistake_is_one_problem_on_its_line(work, old, new, needle, message):
    problem = only_problem(work, changed(old, new), needle)
    assert message in problem.message, str(problem)


def test_least_loaded_needs_the_open_states(work):
    text = changed("open:\n  field: tier\n  values: [a, b]\n", "")
    problem = only_problem(work, text, "strategy: least_loaded")
    assert "declare the 'open' states" in problem.message


def test_one_assignment_per_entity(work):
    write(work / "base", "metadata/assignment/accounts.yaml", GOOD)
    problem = only_problem(work, changed("name: accounts", "name: accounts_two"), "entity: account",
                           rel="metadata/assignment/second.yaml")
    assert "already dispatched by assignment 'accounts'" in problem.message


@pytest.mark.parametrize("field, key, message", [
    ("name", "grants", "'grants' applies to user fields: the user a field names gets access; 'name' is a text field"),
    ("owner_user", "grants_manager", "'grants_manager' applies to picklist or text fields holding a department code"),
])
def test_granting_keys_only_on_the_fields_they_fit(work, field, key, message):
    path = work / "base" / "metadata" / "entities" / "account.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = f"  {field}:\n    type:"
    assert text.count(anchor) == 1
    path.write_text(text.replace(anchor, f"  {field}:\n    {key}: [read, write]\n    type:"), encoding="utf-8")
    found = problems(work / "base")
    assert [(p.file, p.line) for p in found] == [("base/metadata/entities/account.yaml", line_of(path, f"{key}: [read, write]"))]
    assert message in found[0].message


def test_grants_take_read_or_write_only(work):
    extra = work / "extra"
    write(extra, "metadata/pack.yaml", "kind: pack\nname: extra\nlabel: {en: extra, zh: extra}\nversion: '1.0'\nrequires: [base]\n")
    path = write(extra, "metadata/entities/account.yaml", """\
        kind: entity
        name: account
        fields:
          owner_user:
            grants: [read, delete]
        """)
    found = problems(work / "base", extra)
    assert [(p.file, p.line) for p in found] == [("extra/metadata/entities/account.yaml", line_of(path, "grants:"))]
    assert "'delete' is not one of ['read', 'write']" in found[0].message


def test_a_line_entity_has_no_granting_fields(work):
    path = work / "base" / "metadata" / "entities" / "account_line.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\nfields:\n", "\nfields:\n  checker:\n    type: user\n    label: {en: Checker, zh: 核对人}\n"
                                 "    grants: [read]\n", 1), encoding="utf-8")
    found = problems(work / "base")
    assert len(found) == 1 and "follows it; declare 'grants' on a field of 'account'" in found[0].message


def test_a_later_pack_adds_a_rule_after_a_named_one_and_grants_on_an_existing_field(work):
    write(work / "base", "metadata/assignment/accounts.yaml", GOOD)
    extra = work / "extra"
    write(extra, "metadata/pack.yaml", "kind: pack\nname: extra\nlabel: {en: extra, zh: extra}\nversion: '1.0'\nrequires: [base]\n")
    write(extra, "metadata/assignment/accounts.yaml", """\
        kind: assignment
        name: accounts
        entity: account
        rules:
          - name: gansu_team
            after: key_accounts
            label: {en: Gansu, zh: 甘肃}
            when: "province == 'gansu'"
            pool: {team: 甘肃组}
        """)
    write(extra, "metadata/entities/account.yaml", """\
        kind: entity
        name: account
        fields:
          owner_user:
            grants: [read]
        """)
    meta = load_metadata([work / "base", extra], REGISTRY)
    assert [r.name for r in meta.assignment_for("account").rules] == ["key_accounts", "gansu_team", "by_province"]
    assert meta.assignment_for("account").rules[1].strategy == "round_robin"  # the default
    assert meta.entity("account").field("owner_user").grants("read")
    assert not meta.entity("account").field("owner_user").grants("write")
