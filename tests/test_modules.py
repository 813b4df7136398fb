"""Module documents (the menu's groups) and detail-layout timelines: loaded, merged across
packs and checked with file:line messages like every other kind of metadata."""

from __future__ import annotations

import shutil

import pytest

from kehu.metadata import MetadataError, load_metadata
from kehu.metadata.model import OTHER_MODULE
from kehu.plugins import field_type_registry, make_plugin_manager
from kehu_testing import FIXTURE_PACK, line_of, real_packs, write

REGISTRY = field_type_registry(make_plugin_manager())


def new_pack(root, name="extra"):
    folder = root / name
    write(folder, "metadata/pack.yaml", f"kind: pack\nname: {name}\nlabel: {{en: {name}, zh: {name}}}\nversion: '1.0'\nrequires: [base]\n")
    return folder


def problems(packs) -> list[str]:
    with pytest.raises(MetadataError) as info:
        load_metadata(list(packs), REGISTRY)
    return [str(p) for p in info.value.problems]


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(FIXTURE_PACK, tmp_path / "base")
    return tmp_path


@pytest.fixture(scope="module")
def real():
    return load_metadata(real_packs(), REGISTRY)


# ----------------------------------------------------------------- modules
def test_the_base_pack_ships_its_modules_with_both_languages(real):
    base = {"sales": "销售", "service": "服务", "marketing": "市场", "knowledge": "知识库", "analysis": "分析", "system": "系统"}
    for name, zh in base.items():
        assert real.modules[name].label.zh == zh and real.modules[name].label.en == name.capitalize()
    assert all(e.module in real.modules for e in real.entities.values())


def test_it_service_adds_its_own_module_to_the_menu(real):
    repairs = real.modules["repairs"]
    assert (repairs.label.en, repairs.label.zh) == ("Repairs", "维修")
    groups = [(m.name, [e.name for e in entities]) for m, entities in real.nav()]
    assert ("repairs", ["repair_order"]) in groups  # its lines are edited inside the order
    # modules in their order; those without an entity (analysis, system) are left out
    assert [name for name, _ in groups] == ["sales", "service", "repairs", "marketing", "knowledge"]


def test_nav_leaves_out_modules_with_nothing_shown(real):
    groups = real.nav(lambda e: e.name in ("customer", "campaign"))
    assert [(m.name, [e.name for e in entities]) for m, entities in groups] == [
        ("sales", ["customer"]), ("marketing", ["campaign"])]


def test_a_pack_adds_a_module_and_moves_an_entity_into_it(work):
    extra = new_pack(work)
    write(extra, "metadata/modules/field_work.yaml", """\
        kind: module
        name: field_work
        label: {en: Field work, zh: 外勤}
        order: 15
        icon: map
    """)
    write(extra, "metadata/entities/visit.yaml", "kind: entity\nname: visit\nmodule: field_work\n")
    md = load_metadata([work / "base", extra], REGISTRY)
    assert md.modules["field_work"].label.zh == "外勤" and md.modules["field_work"].icon == "map"
    # service is left with no entity, so it leaves the menu
    assert [(m.name, [e.name for e in es]) for m, es in md.nav()] == [("sales", ["account"]), ("field_work", ["visit"])]
    assert md.version != load_metadata([work / "base"], REGISTRY).version


def test_a_later_pack_relabels_and_reorders_a_module(work):
    extra = new_pack(work)
    write(extra, "metadata/modules/service.yaml", "kind: module\nname: service\nlabel: {en: After-sales, zh: 售后}\norder: 1\n")
    md = load_metadata([work / "base", extra], REGISTRY)
    assert md.modules["service"].label.en == "After-sales"
    assert [m.name for m, _ in md.nav()] == ["service", "sales"]


def test_an_entity_naming_an_unknown_module(work):
    path = work / "base/metadata/entities/visit.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("module: service", "module: servise"), encoding="utf-8")
    assert problems([work / "base"]) == [
        f"base/metadata/entities/visit.yaml:{line_of(path, 'module: servise')}: module: unknown module 'servise'; "
        "define it in metadata/modules/ (kind: module) or use one of: sales, service. Did you mean 'service'?"]


def test_a_new_module_needs_a_label(work):
    extra = new_pack(work)
    write(extra, "metadata/modules/field_work.yaml", "kind: module\nname: field_work\norder: 15\n")
    assert problems([work / "base", extra]) == [
        "extra/metadata/modules/field_work.yaml:2: name: module 'field_work' is not defined by an earlier pack, "
        "so it needs a 'label' with en and zh"]


def test_a_module_document_is_checked_against_its_schema(work):
    path = write(work, "base/metadata/modules/extra.yaml", "kind: module\nname: extra\nlabel: {en: Extra, zh: 其他}\nordr: 3\n")
    assert problems([work / "base"]) == [
        f"base/metadata/modules/extra.yaml:{line_of(path, 'ordr')}: ordr: unknown property 'ordr'. Did you mean 'order'?"]


def test_an_entity_without_a_module_is_listed_under_other(work):
    write(work, "base/metadata/entities/thing.yaml", """\
        kind: entity
        name: thing
        label: {en: Thing, zh: 东西}
        fields:
          title: {type: text, label: {en: Title, zh: 标题}}
    """)
    md = load_metadata([work / "base"], REGISTRY)
    last, entities = md.nav()[-1]
    assert last is OTHER_MODULE and [e.name for e in entities] == ["thing"]
    assert (OTHER_MODULE.label.en, OTHER_MODULE.label.zh) == ("Other", "其他")


# ---------------------------------------------------------------- timeline
def test_the_customer_timeline_of_the_real_packs(real):
    sources = {s.entity: s for s in real.layout("customer", "detail").timeline}
    assert list(sources)[:3] == ["contact", "opportunity", "activity"]
    assert "repair_order" in sources  # added by it_service to the base pack's timeline
    assert (sources["contact"].field, sources["contact"].date, sources["contact"].status) == ("customer", "created_at", None)
    assert (sources["opportunity"].date, sources["opportunity"].status) == ("created_at", "stage")
    assert (sources["quote"].date, sources["quote"].status) == ("quote_date", "status")
    assert real.layout("quote", "detail").timeline == ()


def timeline_layout(work, items: str):
    path = work / "base/layouts/account.detail.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "timeline:\n" + items, encoding="utf-8")
    return path


def test_a_timeline_source_defaults_to_its_only_lookup(work):
    timeline_layout(work, "  - visit\n  - {entity: visit, date: visited_on}\n")
    (source, dated) = load_metadata([work / "base"], REGISTRY).layout("account", "detail").timeline
    assert (source.entity, source.field, source.date, source.status) == ("visit", "account", "created_at", None)
    assert dated.date == "visited_on"


@pytest.mark.parametrize("item, needle, message", [
    ("  - vist\n", "vist", "timeline.0: unknown entity 'vist'. Did you mean 'visit'?"),
    ("  - {entity: account_line, field: item}\n", "account_line", "timeline.0.field: 'account_line.item' is not a lookup to 'account'. Use 'account', 'ship_to'."),
    ("  - {entity: visit, date: subject}\n", "date: subject", "timeline.0.date: 'subject' is a text field; a timeline places records by a date or datetime field"),
    ("  - {entity: visit, date: visited}\n", "date: visited}", "timeline.0.date: unknown field 'visited' of entity 'visit'. Did you mean 'visited_on'?"),
    ("  - {entity: visit, status: subject}\n", "status: subject", "timeline.0.status: 'subject' is a text field; the status shown comes from a picklist field."),
])
def test_a_timeline_source_is_checked(work, item, needle, message):
    path = timeline_layout(work, item)
    assert problems([work / "base"]) == [f"base/layouts/account.detail.yaml:{line_of(path, needle)}: {message}"]


def test_a_timeline_source_with_several_lookups_must_name_one(work):
    extra = new_pack(work)
    write(extra, "metadata/entities/visit.yaml", """\
        kind: entity
        name: visit
        fields:
          referred_by:
            type: lookup
            label: {en: Referred by, zh: 推荐客户}
            entity: account
    """)
    path = write(extra, "layouts/account.detail.yaml", "kind: layout\nentity: account\ntype: detail\ntimeline: [visit]\n")
    assert problems([work / "base", extra]) == [
        f"extra/layouts/account.detail.yaml:{line_of(path, 'timeline')}: timeline.0: 'visit' has several lookups to "
        "'account' (account, referred_by); name one: {entity: visit, field: account}"]


def test_a_timeline_belongs_to_detail_layouts(work):
    path = work / "base/layouts/account.form.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "timeline: [visit]\n", encoding="utf-8")
    assert problems([work / "base"]) == [
        f"base/layouts/account.form.yaml:{line_of(path, 'timeline')}: timeline: a timeline belongs to detail layouts"]


def test_a_later_pack_adds_timeline_sources(work):
    timeline_layout(work, "  - visit\n")
    extra = new_pack(work)
    write(extra, "layouts/account.detail.yaml", "kind: layout\nentity: account\ntype: detail\ntimeline: [visit, account]\n")
    sources = load_metadata([work / "base", extra], REGISTRY).layout("account", "detail").timeline
    assert [(s.entity, s.field) for s in sources] == [("visit", "account"), ("account", "parent")]
