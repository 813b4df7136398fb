"""The metadata keys of the sales chain are checked when packs load: a lookup's ``fill``
(fields exist on both sides, can be set, types fit), ``new_action.when``, ``stamp_when``
and ``forward_only``; and the base pack declares them where the chain needs them."""

from __future__ import annotations

import shutil

import pytest

from kehu.metadata import MetadataError, load_metadata
from kehu.plugins import field_type_registry, make_plugin_manager
from kehu_testing import FIXTURE_PACK, line_of, real_packs, write

REGISTRY = field_type_registry(make_plugin_manager())

THING = """\
kind: entity
name: thing
label: {en: Thing, zh: 东西}
fields:
  title:
    type: text
    label: {en: Title, zh: 标题}
  budget:
    type: currency
    label: {en: Budget, zh: 预算}
  level:
    type: picklist
    label: {en: Level, zh: 级别}
    picklist: tier
  total:
    type: formula
    label: {en: Total, zh: 合计}
    expression: "coalesce(budget, 0) * 2"
  account:
    type: lookup
    label: {en: Account, zh: 客户}
    entity: account
"""


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(FIXTURE_PACK, tmp_path / "base")
    return tmp_path


def problems(work) -> list[str]:
    with pytest.raises(MetadataError) as info:
        load_metadata([work / "base"], REGISTRY)
    return [str(p) for p in info.value.problems]


def thing(work, extra: str):
    return write(work, "base/metadata/entities/thing.yaml", THING + extra)


def test_a_valid_fill_loads_and_is_read_from_the_field(work):
    thing(work, """\
    fill: {title: name, budget: revenue, level: tier}
    new_action:
      label: {en: Add a thing, zh: 新建东西}
      when: "active == true"
""")
    meta = load_metadata([work / "base"], REGISTRY)
    assert dict(meta.entity("thing").field("account").get("fill")) == {"title": "name", "budget": "revenue", "level": "tier"}


@pytest.mark.parametrize("fill, message", [
    ("{titel: name}", "entity 'thing' has no field 'titel' to fill. Did you mean 'title'?"),
    ("{title: nmae}", "entity 'account' has no field 'nmae'. Did you mean 'name'?"),
    ("{total: revenue}", "'total' cannot be filled: it is computed or read-only"),
    ("{account: parent}", "'account' cannot be filled: it is the lookup itself"),
    ("{budget: name}", "'account.name' is a text field; it cannot fill the currency field 'budget'"),
    ("{level: province}", "'account.province' is a picklist field of picklist 'province'; it cannot fill the picklist field 'level'"),
    ("{title: active}", "'account.active' is a boolean field; it cannot fill the text field 'title'"),
])
def test_a_fill_that_cannot_work_is_refused_at_load(work, fill, message):
    path = thing(work, f"    fill: {fill}\n")
    target = fill.strip("{}").split(":")[0]
    assert problems(work) == [f"base/metadata/entities/thing.yaml:{line_of(path, 'fill:')}: fields.account.fill.{target}: {message}"]


def test_fill_belongs_to_lookups_and_new_action_reads_the_target(work):
    path = write(work, "base/metadata/entities/thing.yaml", THING.replace("    picklist: tier\n", "    picklist: tier\n    fill: {title: name}\n") + """\
    new_action:
      label: {en: Add, zh: 新建}
      when: "budget > 0"
""")
    assert problems(work) == [
        f"base/metadata/entities/thing.yaml:{line_of(path, 'fill: {title')}: fields.level.fill: 'fill' does not apply to a picklist field",
        f"base/metadata/entities/thing.yaml:{line_of(path, 'when:')}: fields.account.new_action.when: "
        "bad expression 'budget > 0': unknown field 'budget'"]


def test_stamp_when_and_forward_only_are_checked(work):
    path = write(work, "base/metadata/entities/thing.yaml", THING + """\
  done_on:
    type: date
    label: {en: Done on, zh: 完成日期}
    stamp_when: "levl == 'a'"
  note:
    type: text
    label: {en: Note, zh: 备注}
    stamp_when: "level == 'a'"
    forward_only: true
""")
    found = problems(work)
    file = "base/metadata/entities/thing.yaml"
    bad, wrong = line_of(path, "stamp_when: \"levl"), line_of(path, "stamp_when: \"level")
    assert f"{file}:{bad}: fields.done_on.stamp_when: bad expression \"levl == 'a'\": unknown field 'levl' (did you mean 'level'?)" in found
    assert f"{file}:{wrong}: fields.note.stamp_when: 'stamp_when' does not apply to a text field" in found
    assert f"{file}:{line_of(path, 'forward_only')}: fields.note.forward_only: 'forward_only' does not apply to a text field" in found


def test_the_base_pack_declares_the_chain():
    meta = load_metadata(real_packs(), REGISTRY)
    line = meta.entity("quote_line").field("product")
    assert dict(line.get("fill")) == {"unit_price": "list_price", "unit": "unit", "description": "specification"}
    assert meta.entity("sales_order_line").field("product").get("fill") == line.get("fill")
    assert meta.entity("sales_order").field("quote").get("fill")["lines"] == "lines"
    assert meta.entity("return_order").field("sales_order").get("new_action")["label"]["zh"] == "创建退货单"
    assert meta.entity("sales_order").field("status").get("forward_only") is True
    order_status = [o.key for o in meta.picklists["order_status"].options]
    assert order_status[:6] == ["draft", "confirmed", "shipped", "delivered", "invoiced", "paid"]
    assert {"completed", "cancelled"} <= set(order_status)
    stamped = {f.name for f in meta.entity("sales_order").fields.values() if f.get("stamp_when")}
    assert stamped == {"confirmed_on", "shipped_on", "delivered_on", "invoiced_on", "paid_on"}
    lead = meta.entity("lead")
    assert all(lead.field(n).get("read_only") for n in ("converted_customer", "converted_contact",
                                                        "converted_opportunity", "converted_at", "converted_by"))
    assert "converted_customer" not in meta.layout("lead", "form").field_names()
