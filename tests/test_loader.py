"""Loading packs: the real packs merge correctly, the version hash is stable, and every
broken document is reported as ``file:line: path: message`` pointing at the culprit."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kehu_testing import FIXTURE_PACK, REPO, line_of, real_packs, write
from kehu.metadata import MetadataError, load_metadata
from kehu.plugins import field_type_registry, make_plugin_manager

REGISTRY = field_type_registry(make_plugin_manager())
KEHU = Path(sys.executable).parent / "kehu"
PROBLEM_LINE = re.compile(r"^[^:]+:\d+: ")


# --------------------------------------------------------------------- helpers
def new_pack(root: Path, name: str = "extra", requires=("base",)) -> Path:
    folder = root / name
    reqs = f"requires: [{', '.join(requires)}]\n" if requires else ""
    write(folder, "metadata/pack.yaml", f"kind: pack\nname: {name}\nlabel: {{en: {name}, zh: {name}}}\nversion: '1.0'\n" + reqs)
    return folder


def problems(packs) -> list[str]:
    with pytest.raises(MetadataError) as info:
        load_metadata(list(packs), REGISTRY)
    return [str(p) for p in info.value.problems]


@pytest.fixture
def work(tmp_path, monkeypatch):
    """tmp_path as the working directory (messages name files relative to it) and a copy
    of the fixture pack at ``base/``."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(FIXTURE_PACK, tmp_path / "base")
    return tmp_path


ENTITY_HEAD = """\
kind: entity
name: thing
label: {en: Thing, zh: 东西}
fields:
"""


# ------------------------------------------------------------------ real packs
@pytest.fixture(scope="module")
def real():
    return load_metadata(real_packs(), REGISTRY)


def test_real_packs_load(real):
    assert [p.name for p in real.packs] == ["base", "it_service"]
    assert len(real.entities) >= 19
    for name in ("customer", "contact", "product", "quote", "quote_line", "repair_order", "repair_part"):
        assert name in real.entities
    assert real.entity("quote_line").child_of == "quote"


def test_it_service_adds_fields_to_product(real):
    product = real.entity("product")
    assert product.field("warranty_months").type == "integer"
    assert REGISTRY["integer"].default(product.field("warranty_months")) == 12
    assert product.field("warranty_type").picklist == "warranty_type"
    # the base pack's fields are all still there
    assert product.field("name").required and product.field("name").get("unique")
    assert product.field("code").type == "autonumber"
    assert product.label.en == "Product"


def test_it_service_adds_picklist_options(real):
    keys = [o.key for o in real.picklists["industry"].options]
    assert keys[:2] == ["distribution", "manufacturing"]  # base options first, in order
    for key in ("system_integration", "hardware_distribution", "software_reseller", "it_operations"):
        assert key in keys
    assert keys.index("system_integration") > keys.index("other")
    assert len(keys) == len(set(keys))
    assert real.picklists["industry"].label.zh == "所属行业"


def test_it_service_extends_layouts(real):
    related = [(r.entity, r.field) for r in real.layout("customer", "detail").related]
    assert related[:2] == [("contact", "customer"), ("opportunity", "customer")]
    assert ("repair_order", "customer") in related
    form = real.layout("product", "form")
    assert [s.name for s in form.sections] == ["basic", "pricing", "description", "warranty"]
    assert form.sections[-1].fields == ("warranty_months", "warranty_type", "serial_tracked")
    product_list = real.layout("product", "list")
    assert product_list.columns[0] == "code" and product_list.columns[-1] == "warranty_months"
    assert "warranty_type" in product_list.filters


def test_version_is_deterministic(real):
    again = load_metadata(real_packs(), REGISTRY)
    assert again.version == real.version
    assert re.fullmatch(r"[0-9a-f]{16}", real.version)


def test_version_depends_on_content_not_location(tmp_path):
    first = shutil.copytree(FIXTURE_PACK, tmp_path / "one")
    second = shutil.copytree(FIXTURE_PACK, tmp_path / "two")
    original = load_metadata([FIXTURE_PACK], REGISTRY).version
    assert load_metadata([first], REGISTRY).version == original
    path = second / "metadata/entities/visit.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("{en: Subject, zh: 主题}", "{en: Topic, zh: 主题}"), encoding="utf-8")
    changed = load_metadata([second], REGISTRY)
    assert changed.entity("visit").field("subject").label.en == "Topic"
    assert changed.version != original


# ---------------------------------------------------------- document problems
def test_invalid_yaml_reports_its_line(work):
    path = write(work, "base/metadata/entities/thing.yaml", ENTITY_HEAD + """\
      title:
        type: text
       label: {en: T, zh: T}
    """)
    found = problems([work / "base"])
    assert len(found) == 1
    assert found[0].startswith(f"base/metadata/entities/thing.yaml:{line_of(path, 'label: {en: T, zh: T}')}: not valid YAML: ")


def test_unknown_yaml_tag_is_one_line_at_its_line(work):
    path = write(work, "base/metadata/entities/thing.yaml", ENTITY_HEAD + """\
      title:
        type: !!python/object:os.system text
    """)
    found = problems([work / "base"])
    assert found == [f"base/metadata/entities/thing.yaml:{line_of(path, 'os.system')}: not valid YAML: "
                     "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object:os.system'"]


def test_missing_kind(work):
    write(work, "base/metadata/entities/thing.yaml", "name: thing\nlabel: {en: T, zh: T}\n")
    assert problems([work / "base"]) == [
        "base/metadata/entities/thing.yaml:1: kind: missing 'kind'; one of: pack, entity, picklist, layout, role, workflow, module, assignment."]


def test_unknown_kind_with_hint(work):
    write(work, "base/metadata/entities/thing.yaml", "name: thing\nkind: entitty\n")
    assert problems([work / "base"]) == [
        "base/metadata/entities/thing.yaml:2: kind: unknown kind 'entitty'; one of: pack, entity, picklist, layout, role, workflow, module, assignment."
        " Did you mean 'entity'?"]


def test_unknown_property_with_hint(work):
    path = write(work, "base/metadata/entities/thing.yaml", ENTITY_HEAD + """\
      title:
        type: text
        label: {en: T, zh: T}
        max_lenght: 5
    """)
    assert problems([work / "base"]) == [
        f"base/metadata/entities/thing.yaml:{line_of(path, 'max_lenght')}: fields.title.max_lenght: "
        "unknown property 'max_lenght'. Did you mean 'max_length'?"]


def test_unknown_entity_property_with_hint(work):
    path = write(work, "base/metadata/entities/thing.yaml", "kind: entity\nname: thing\nlabel: {en: T, zh: T}\ntitel_field: name\n")
    assert problems([work / "base"]) == [
        f"base/metadata/entities/thing.yaml:{line_of(path, 'titel_field')}: titel_field: "
        "unknown property 'titel_field'. Did you mean 'title_field'?"]


def test_non_ascii_and_upper_case_field_names(work):
    path = write(work, "base/metadata/entities/thing.yaml", ENTITY_HEAD + """\
      名称:
        type: text
        label: {en: T, zh: T}
      Title:
        type: text
        label: {en: T, zh: T}
    """)
    rule = "is not a valid name (lower-case ASCII letters, digits and _, starting with a letter, 2-40 characters)"
    assert problems([work / "base"]) == [
        f"base/metadata/entities/thing.yaml:{line_of(path, '名称')}: fields.名称: '名称' {rule}",
        f"base/metadata/entities/thing.yaml:{line_of(path, 'Title')}: fields.Title: 'Title' {rule}",
    ]


def test_upper_case_entity_name(work):
    write(work, "base/metadata/entities/thing.yaml", "kind: entity\nname: Thing\nlabel: {en: T, zh: T}\n")
    assert problems([work / "base"]) == [
        "base/metadata/entities/thing.yaml:2: name: 'Thing' is not a valid name here (expected pattern ^[a-z][a-z0-9_]{1,39}$)"]


def test_reserved_entity_and_field_names(work):
    path = write(work, "base/metadata/entities/thing.yaml", """\
        kind: entity
        name: user
        label: {en: User, zh: 用户}
        fields:
          owner:
            type: text
            label: {en: Owner, zh: 负责人}
          kehu_secret:
            type: text
            label: {en: S, zh: S}
    """)
    assert problems([work / "base"]) == [
        "base/metadata/entities/thing.yaml:2: name: 'user' is a reserved name; choose another (for example 'user_record')",
        f"base/metadata/entities/thing.yaml:{line_of(path, 'owner:')}: fields.owner: 'owner' is a system field; every entity already has it",
        f"base/metadata/entities/thing.yaml:{line_of(path, 'kehu_secret:')}: fields.kehu_secret: 'kehu_secret' is a system field; every entity already has it",
    ]


def test_duplicate_keys_name_both_lines(work):
    path = write(work, "base/metadata/entities/thing.yaml", ENTITY_HEAD + """\
      title:
        type: text
        label: {en: T, zh: T}
      title:
        type: integer
        label: {en: T, zh: T}
    """)
    first, second = line_of(path, "title:", 1), line_of(path, "title:", 2)
    assert problems([work / "base"]) == [
        f"base/metadata/entities/thing.yaml:{second}: fields.title: duplicate key 'title' (first at line {first})"]


def test_unknown_field_type(work):
    path = write(work, "base/metadata/entities/thing.yaml", ENTITY_HEAD + """\
      title:
        type: txt
        label: {en: T, zh: T}
    """)
    assert problems([work / "base"]) == [
        f"base/metadata/entities/thing.yaml:{line_of(path, 'type: txt')}: fields.title.type: unknown field type 'txt'. Did you mean 'text'?"]


def test_lookup_to_missing_entity(work):
    path = write(work, "base/metadata/entities/thing.yaml", ENTITY_HEAD + """\
      acc:
        type: lookup
        label: {en: A, zh: A}
        entity: acount
    """)
    assert problems([work / "base"]) == [
        f"base/metadata/entities/thing.yaml:{line_of(path, 'entity: acount')}: fields.acc.entity: "
        "lookup to unknown entity 'acount'. Did you mean 'account'?"]


def test_bad_expression_unknown_field(work):
    path = write(work, "base/metadata/entities/thing.yaml", ENTITY_HEAD + """\
      amount:
        type: currency
        label: {en: Amount, zh: 金额}
      double:
        type: formula
        label: {en: Double, zh: 双倍}
        expression: "amout * 2"
    """)
    assert problems([work / "base"]) == [
        f"base/metadata/entities/thing.yaml:{line_of(path, 'expression:')}: fields.double.expression: "
        "bad expression 'amout * 2': unknown field 'amout' (did you mean 'amount'?)"]


def test_refused_expression_in_rule(work):
    path = write(work, "base/metadata/entities/thing.yaml", """\
        kind: entity
        name: thing
        label: {en: Thing, zh: 东西}
        rules:
          - name: sneaky
            expression: "__import__('os')"
            message: {en: Refused, zh: 不行}
    """)
    found = problems([work / "base"])
    assert len(found) == 1
    assert found[0].startswith(f"base/metadata/entities/thing.yaml:{line_of(path, 'expression:')}: rules.0.expression: "
                               "bad expression \"__import__('os')\": unknown function '__import__'")


def test_layout_lists_unknown_field(work):
    write(work, "base/metadata/entities/thing.yaml", ENTITY_HEAD + """\
      amount:
        type: currency
        label: {en: Amount, zh: 金额}
    """)
    path = write(work, "base/layouts/thing.form.yaml", """\
        kind: layout
        entity: thing
        type: form
        sections:
          - name: main
            fields: [amount, amout]
    """)
    # amount is listed and valid; amout is reported at the list's line with a hint
    assert problems([work / "base"]) == [
        f"base/layouts/thing.form.yaml:{line_of(path, 'amout')}: sections.0.fields.1: section 'main' lists field 'amout', "
        "which entity 'thing' does not define. Did you mean 'amount'?"]


def test_related_list_needs_a_lookup_back(work):
    path = work / "base/layouts/account.detail.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("field: account", "field: subject"), encoding="utf-8")
    assert problems([work / "base"]) == [
        f"base/layouts/account.detail.yaml:{line_of(path, 'field: subject')}: related.0.field: "
        "'visit.subject' is not a lookup to 'account'. Use 'account'."]


def test_cascading_option_parent_must_exist(work):
    path = work / "base/metadata/picklists/city.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("parent: gansu", "parent: gansuu"), encoding="utf-8")
    assert problems([work / "base"]) == [
        f"base/metadata/picklists/city.yaml:{line_of(path, 'gansuu')}: options.2.parent: "
        "'gansuu' is not an option of 'province'. Did you mean 'gansu'?"]


def test_depends_on_must_name_the_parent_list(work):
    path = work / "base/metadata/entities/account.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("depends_on: province", "depends_on: tier"), encoding="utf-8")
    assert problems([work / "base"]) == [
        f"base/metadata/entities/account.yaml:{line_of(path, 'depends_on: tier')}: fields.city.depends_on: "
        "picklist 'city' is not a child of 'tier', the list of field 'tier'"]


def test_child_table_link_field_must_point_back(work):
    path = work / "base/metadata/entities/account.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("link_field: account", "link_field: item"), encoding="utf-8")
    assert problems([work / "base"]) == [
        f"base/metadata/entities/account.yaml:{line_of(path, 'link_field: item')}: fields.lines.link_field: "
        "'account_line.item' must be a lookup to 'account'"]


def test_autonumber_needs_a_format(work):
    path = write(work, "base/metadata/entities/thing.yaml", ENTITY_HEAD + """\
      code:
        type: autonumber
        label: {en: Code, zh: 编号}
    """)
    assert problems([work / "base"]) == [
        f"base/metadata/entities/thing.yaml:{line_of(path, 'code:')}: fields.code: an autonumber field needs 'format'"]


def test_property_of_another_type_is_refused(work):
    path = write(work, "base/metadata/entities/thing.yaml", ENTITY_HEAD + """\
      count:
        type: integer
        label: {en: Count, zh: 数量}
        max_length: 5
    """)
    assert problems([work / "base"]) == [
        f"base/metadata/entities/thing.yaml:{line_of(path, 'max_length')}: fields.count.max_length: 'max_length' does not apply to an integer field"]


def test_role_with_misspelled_action(work):
    path = write(work, "base/metadata/roles/rep.yaml", """\
        kind: role
        name: rep
        label: {en: Rep, zh: 代表}
        permissions:
          account: {reed: all}
    """)
    assert problems([work / "base"]) == [
        f"base/metadata/roles/rep.yaml:{line_of(path, 'reed')}: permissions.account.reed: unknown key 'reed'; "
        "one of: create, read, write, delete, export, import, assign, share. Did you mean 'read'?"]


def test_yaml_boolean_where_text_belongs_gets_a_hint(work):
    path = write(work, "base/metadata/picklists/answer.yaml", """\
        kind: picklist
        name: answer
        label: {en: Answer, zh: 回答}
        options:
          - key: "no"
            label: {en: No, zh: 否}
    """)
    assert problems([work / "base"]) == [
        f"base/metadata/picklists/answer.yaml:{line_of(path, 'en: No')}: options.0.label.en: False is not of type 'string'"
        " (YAML reads yes/no/on/off/true/false as booleans; put the text in quotes)"]


def test_every_problem_is_reported_in_one_run(work):
    write(work, "base/metadata/entities/thing.yaml", "kind: entitty\nname: thing\n")
    write(work, "base/metadata/picklists/zz.yaml", "kind: picklist\nname: zz\nlabel: {en: Z, zh: Z}\noptions:\n  - {key: a, label: {en: A, zh: A}}\n  - {key: a, label: {en: A, zh: A}}\n")
    write(work, "base/layouts/visit.list.yaml", "kind: layout\nentity: visit\ntype: list\ncolumns: [subjct]\n")
    found = problems([work / "base"])
    assert [p.split(":")[0] for p in found] == [
        "base/layouts/visit.list.yaml", "base/metadata/entities/thing.yaml", "base/metadata/picklists/zz.yaml"]
    assert all(PROBLEM_LINE.match(p) for p in found)


# ---------------------------------------------------------------------- layers
def test_pack_requiring_a_missing_pack(work):
    extra = new_pack(work, "extra", requires=("base", "crm_core"))
    assert problems([work / "base", extra]) == [
        "extra/metadata/pack.yaml:5: requires.1: requires pack 'crm_core', which is not installed."]


def test_requires_decides_the_load_order(work):
    # 'aaa' is found first but requires 'zzz', which therefore loads before it
    aaa = new_pack(work, "aaa", requires=("base", "zzz"))
    zzz = new_pack(work, "zzz")
    write(zzz, "metadata/entities/thing.yaml", ENTITY_HEAD + "  title: {type: text, label: {en: T, zh: T}}\n")
    write(aaa, "metadata/entities/thing.yaml", "kind: entity\nname: thing\nfields:\n  extra: {type: integer, label: {en: E, zh: E}}\n")
    md = load_metadata([work / "base", aaa, zzz], REGISTRY)
    assert [p.name for p in md.packs] == ["base", "zzz", "aaa"]
    assert list(f.name for f in md.entity("thing").user_fields()) == ["title", "extra"]


def test_same_field_defined_differently_names_both_files(work):
    extra = new_pack(work)
    path = write(extra, "metadata/entities/account.yaml", """\
        kind: entity
        name: account
        fields:
          employees:
            type: text
            label: {en: Employees, zh: 员工数}
    """)
    found = problems([work / "base", extra])
    assert found == [
        f"extra/metadata/entities/account.yaml:{line_of(path, 'type: text')}: fields.employees.type: "
        "field 'account.employees' is defined differently in base/metadata/entities/account.yaml (type: 'integer'); "
        "a later pack may only change default, grants, grants_manager, help, label, required, required_if, visible_if"]


def test_lookup_target_cannot_change_in_a_later_pack(work):
    extra = new_pack(work)
    write(extra, "metadata/entities/account.yaml", """\
        kind: entity
        name: account
        fields:
          parent:
            type: lookup
            entity: visit
    """)
    (found,) = problems([work / "base", extra])
    assert found.startswith("extra/metadata/entities/account.yaml:6: fields.parent.entity: ")
    assert "base/metadata/entities/account.yaml" in found and "(entity: 'account')" in found


def test_later_pack_may_override_label_and_required(work):
    extra = new_pack(work)
    write(extra, "metadata/entities/account.yaml", """\
        kind: entity
        name: account
        fields:
          phone:
            label: {en: Switchboard, zh: 总机}
            required: true
          region_code:
            type: text
            label: {en: Region code, zh: 区号}
    """)
    md = load_metadata([work / "base", extra], REGISTRY)
    phone = md.entity("account").field("phone")
    assert phone.label.en == "Switchboard" and phone.label.zh == "总机"
    assert phone.required and phone.type == "phone"
    assert md.entity("account").field("region_code").type == "text"
    assert md.entity("account").label.en == "Account"  # the entity keeps its base label
    assert md.version != load_metadata([work / "base"], REGISTRY).version


def test_extending_an_entity_that_does_not_exist(work):
    extra = new_pack(work)
    write(extra, "metadata/entities/acount.yaml", "kind: entity\nname: acount\nfields:\n  x1: {type: text, label: {en: X, zh: X}}\n")
    assert problems([work / "base", extra]) == [
        "extra/metadata/entities/acount.yaml:2: name: entity 'acount' is not defined by an earlier pack, so it needs a 'label' "
        "(a later pack can only extend existing entities)"]


def test_later_pack_adds_and_reorders_picklist_options(work):
    extra = new_pack(work)
    write(extra, "metadata/picklists/tier.yaml", """\
        kind: picklist
        name: tier
        options:
          - key: vip
            label: {en: VIP, zh: 贵宾}
          - key: b
            label: {en: Standard, zh: 标准客户}
        order: [vip, a]
    """)
    md = load_metadata([work / "base", extra], REGISTRY)
    tier = md.picklists["tier"]
    assert [o.key for o in tier.options] == ["vip", "a", "b", "old"]
    assert tier.option("b").label.en == "Standard"
    assert tier.option("old").retired
    assert [o.key for o in tier.active()] == ["vip", "a", "b"]


def test_order_naming_an_unknown_option(work):
    extra = new_pack(work)
    path = write(extra, "metadata/picklists/tier.yaml", "kind: picklist\nname: tier\norder: [b, aa]\n")
    assert problems([work / "base", extra]) == [
        f"extra/metadata/picklists/tier.yaml:{line_of(path, 'order')}: order.1: 'aa' is not an option of 'tier'. Did you mean 'a'?"]


def test_later_pack_adds_fields_to_an_existing_section(work):
    extra = new_pack(work)
    write(extra, "metadata/entities/account.yaml", """\
        kind: entity
        name: account
        fields:
          region_code:
            type: text
            label: {en: Region code, zh: 区号}
    """)
    write(extra, "layouts/account.form.yaml", """\
        kind: layout
        entity: account
        type: form
        sections:
          - name: more
            fields: [region_code]
          - name: extra
            label: {en: Extra, zh: 附加}
            fields: [owner]
    """)
    md = load_metadata([work / "base", extra], REGISTRY)
    form = md.layout("account", "form")
    assert [s.name for s in form.sections] == ["basic", "more", "lines", "extra"]
    more = form.sections[1]
    assert more.fields == ("notes", "profile", "region_code")
    assert more.tab.en == "Details"  # what the later pack did not mention is kept


def test_field_placed_twice_across_packs(work):
    extra = new_pack(work)
    path = write(extra, "layouts/account.form.yaml", """\
        kind: layout
        entity: account
        type: form
        sections:
          - name: extra
            label: {en: Extra, zh: 附加}
            fields: [notes]
    """)
    # 'notes' already sits in section 'more' of the base form
    found = problems([work / "base", extra])
    assert found == [f"extra/layouts/account.form.yaml:{line_of(path, 'notes')}: sections.0.fields.0: "
                     "field 'notes' is already placed in section 'more' of base/layouts/account.form.yaml"]


# ------------------------------------------------------------------------- CLI
def _bad_pack(root: Path) -> Path:
    extra = new_pack(root, "badpack")
    write(extra, "metadata/entities/customer.yaml", """\
        kind: entity
        name: customer
        fields:
          credit_score:
            type: integr
            label: {en: Credit score, zh: 信用分}
          risk:
            type: formula
            label: {en: Risk, zh: 风险}
            expression: "credit_scor * 2"
    """)
    write(extra, "metadata/entities/broken.yaml", "kind: entity\nname: broken\n  label: x\n")
    write(extra, "metadata/entities/tagged.yaml", "kind: !!python/name:os.system entity\n")
    write(extra, "layouts/customer.list.yaml", "kind: layout\nentity: customer\ntype: list\ncolumns: [nme]\n")
    return extra


def test_cli_validate_reports_problems_one_per_line(tmp_path):
    _bad_pack(tmp_path)
    result = subprocess.run([str(KEHU), "validate", "badpack"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    *found, summary = lines
    assert summary == f"{len(found)} problem(s) found."
    assert len(found) >= 5
    for line in found:
        assert PROBLEM_LINE.match(line), line
        assert line.startswith("badpack/"), line
    text = "\n".join(found)
    assert "unknown field type 'integr'. Did you mean 'integer'?" in text
    assert "unknown field 'nme' of entity 'customer'. Did you mean 'name'?" in text
    assert "badpack/metadata/entities/broken.yaml:3: not valid YAML" in text


def test_cli_validate_on_the_repository_is_ok():
    result = subprocess.run([str(KEHU), "validate"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: 2 pack(s), ")
    assert "Traceback" not in result.stderr


def test_cli_validate_a_folder_that_is_not_a_pack(tmp_path):
    (tmp_path / "empty").mkdir()
    result = subprocess.run([str(KEHU), "validate", "empty"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert PROBLEM_LINE.match(first) and "not a pack: metadata/pack.yaml is missing" in first
