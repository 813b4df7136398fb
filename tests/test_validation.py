"""Record validation: every rule refuses bad input with a message on the right field (in the
user's language) and saves nothing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from kehu_testing import FIXTURE_PACK, make_site, real_packs
from kehu.errors import RecordInvalid


# --------------------------------------------------------------------- helpers
def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def invalid(call, *args, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(RecordInvalid) as info:
        call(*args, **kwargs)
    return info.value.errors


@pytest.fixture
def zh(site, admin_id):
    return site.records(site.actor(site.user(admin_id)), "zh")


@pytest.fixture
def ext_site(db_url, tmp_path):
    """The fixture pack plus a pack adding a required-but-conditional field and a pattern."""
    ext = tmp_path / "ext"
    write(ext, "metadata/pack.yaml", "kind: pack\nname: ext\nlabel: {en: Ext, zh: 扩展}\nversion: '1'\nrequires: [base]\n")
    write(ext, "metadata/entities/account.yaml", """\
        kind: entity
        name: account
        fields:
          competitor:
            type: text
            label: {en: Competitor, zh: 竞争对手}
            required: true
            visible_if: "status == 'lost'"
          postcode:
            type: text
            label: {en: Postcode, zh: 邮编}
            pattern: "^[0-9]{6}$"
            min_length: 6
    """)
    site = make_site(db_url, tmp_path, packs=[FIXTURE_PACK, ext])
    admin = site.create_user("admin", "secret-pw", "Admin", is_admin=True, locale="en")
    yield site, site.records(site.actor(site.user(admin)), "en"), site.records(site.actor(site.user(admin)), "zh")
    site.engine.dispose()


# ------------------------------------------------------------------- required
def test_required(svc, zh):
    assert invalid(svc.create, "account", {}) == {"name": ["Name is required."]}
    assert invalid(svc.create, "account", {"name": "   "}) == {"name": ["Name is required."]}
    assert invalid(zh.create, "account", {"name": None}) == {"name": ["请填写名称。"]}
    record = svc.create("account", {"name": "Acme"})
    assert invalid(svc.update, "account", record["id"], {"name": ""}, record["row_version"]) == {"name": ["Name is required."]}
    assert svc.get("account", record["id"])["name"] == "Acme"


def test_required_if(svc, zh):
    assert invalid(svc.create, "account", {"name": "Acme", "status": "lost"}) == {"lost_reason": ["Lost reason is required."]}
    assert invalid(zh.create, "account", {"name": "Acme", "status": "lost"}) == {"lost_reason": ["请填写流失原因。"]}
    assert svc.create("account", {"name": "Acme", "status": "open"})["lost_reason"] is None
    lost = svc.create("account", {"name": "Beta", "status": "lost", "lost_reason": "Price"})
    assert lost["lost_reason"] == "Price"
    # the condition is evaluated on the record as it will be saved
    record = svc.get("account", lost["id"])
    assert invalid(svc.update, "account", record["id"], {"lost_reason": ""}, record["row_version"]) == {
        "lost_reason": ["Lost reason is required."]}


def test_required_field_is_not_validated_while_hidden(ext_site):
    site, svc, zh = ext_site
    # competitor is required, but only shown (and so only checked) for lost accounts
    record = svc.create("account", {"name": "Acme", "status": "open"})
    assert record["competitor"] is None
    assert invalid(svc.create, "account", {"name": "Beta", "status": "lost", "lost_reason": "x"}) == {
        "competitor": ["Competitor is required."]}
    assert invalid(svc.update, "account", record["id"], {"status": "lost", "lost_reason": "x"}, record["row_version"]) == {
        "competitor": ["Competitor is required."]}
    assert invalid(zh.create, "account", {"name": "Beta", "status": "lost", "lost_reason": "x"}) == {
        "competitor": ["请填写竞争对手。"]}


def test_conditions_with_in_lists_work_in_the_real_packs(db_url, tmp_path):
    site = make_site(db_url, tmp_path, packs=real_packs())
    try:
        admin = site.create_user("admin", "secret-pw", "Admin", is_admin=True, locale="en")
        svc = site.records(site.actor(site.user(admin)), "en")
        customer = svc.create("customer", {"name": "Acme", "category": svc.site.metadata.picklists["customer_category"].options[0].key})
        base = {"subject": "Broken", "customer": customer["id"], "description": "It does not start"}
        # resolved_at is required_if "status in ['resolved', 'closed']"
        assert invalid(svc.create, "service_request", {**base, "status": "resolved"}) == {
            "resolved_at": ["Resolved at is required."]}
        assert svc.create("service_request", {**base, "status": "new"})["resolved_at"] is None
        done = svc.create("service_request", {**base, "status": "closed", "reported_at": "2024-05-01T09:00",
                                              "resolved_at": "2024-05-01T10:00"})
        assert done["status"] == "closed"
    finally:
        site.engine.dispose()


# --------------------------------------------------------------------- unique
def test_unique_with_the_recycle_bin(svc, zh):
    first = svc.create("account", {"name": "Acme"})
    assert invalid(svc.create, "account", {"name": "Acme"}) == {"name": ["Another account already has this name."]}
    assert invalid(zh.create, "account", {"name": "Acme"}) == {"name": ["已有其他客户使用此名称。"]}
    assert svc.count("account") == 1
    svc.delete("account", first["id"])
    second = svc.create("account", {"name": "Acme"})  # the deleted one no longer counts
    assert second["id"] != first["id"]
    assert invalid(svc.restore, "account", first["id"]) == {"name": ["Another account already has this name."]}
    # still in the recycle bin, not restored
    assert svc.get("account", first["id"], deleted=True)["deleted_at"] is not None
    # after renaming the live one the first can come back
    svc.update("account", second["id"], {"name": "Acme 2"}, second["row_version"])
    assert svc.restore("account", first["id"])["name"] == "Acme"


def test_unique_on_update(svc):
    svc.create("account", {"name": "Acme"})
    beta = svc.create("account", {"name": "Beta"})
    assert invalid(svc.update, "account", beta["id"], {"name": "Acme"}, beta["row_version"]) == {
        "name": ["Another account already has this name."]}
    # saving a record with its own unchanged name is fine
    assert svc.update("account", beta["id"], {"name": "Beta", "employees": "3"}, beta["row_version"])["employees"] == 3


# ------------------------------------------------------------ limits, formats
@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"employees": "-1"}, {"employees": ["Must be at least 0."]}),
        ({"employees": "1000001"}, {"employees": ["Must be at most 1,000,000."]}),
        ({"discount": "100.01"}, {"discount": ["Must be at most 100."]}),
        ({"revenue": "-0.01"}, {"revenue": ["Must be at least 0."]}),
        ({"name": "x" * 101}, {"name": ["Enter at most 100 characters."]}),
        ({"notes": "x" * 501}, {"notes": ["Enter at most 500 characters."]}),
        ({"status": "x" * 256}, {"status": ["Enter at most 255 characters."]}),  # text defaults to 255
        ({"tier": "platinum"}, {"tier": ["Choose one of the options."]}),
        ({"tags": ["hot", "warm"]}, {"tags": ["'warm' is not an option."]}),
        ({"name": {"en": "Acme"}}, {"name": ["Enter text."]}),
        ({"name": ["Acme"]}, {"name": ["Enter text."]}),
    ],
)
def test_limits_and_options(svc, data, errors):
    assert invalid(svc.create, "account", {"name": "Acme", **data}) == errors
    assert svc.count("account") == 0


@pytest.mark.parametrize(
    ("data", "field", "value"),
    [
        ({"employees": "0"}, "employees", 0),
        ({"employees": "999"}, "employees", 999),
        ({"discount": "100"}, "discount", 100),
        ({"name": "x" * 100}, "name", "x" * 100),
        ({"notes": "x" * 500}, "notes", "x" * 500),
        ({"tier": "b"}, "tier", "b"),
    ],
)
def test_limits_are_inclusive(svc, data, field, value):
    assert svc.create("account", {"name": "Acme", **data})[field] == value


def test_limit_messages_in_chinese(zh):
    assert invalid(zh.create, "account", {"name": "x" * 101, "employees": "-5", "tier": "zzz"}) == {
        "name": ["最多输入 100 个字符。"], "employees": ["不能小于 0。"], "tier": ["请从选项中选择。"]}


def test_pattern(ext_site):
    site, svc, zh = ext_site
    assert svc.create("account", {"name": "Acme", "postcode": "710000"})["postcode"] == "710000"
    assert invalid(svc.create, "account", {"name": "Beta", "postcode": "71000a"}) == {"postcode": ["Not in the expected format."]}
    assert invalid(zh.create, "account", {"name": "Beta", "postcode": "7100001"}) == {"postcode": ["格式不正确。"]}
    assert invalid(svc.create, "account", {"name": "Beta", "postcode": "71"}) == {
        "postcode": ["Enter at least 6 characters.", "Not in the expected format."]}


# -------------------------------------------------------------- picklist rules
def test_retired_option(svc, site):
    assert invalid(svc.create, "account", {"name": "Acme", "tier": "old"}) == {"tier": ["Choose one of the options."]}
    record = svc.create("account", {"name": "Acme", "tier": "a"})
    table = site.tables["account"]
    with site.engine.begin() as conn:  # a record from before the option was retired
        conn.execute(sa.update(table).where(table.c.id == record["id"]).values(tier="old"))
    record = svc.get("account", record["id"])
    kept = svc.update("account", record["id"], {"employees": "3"}, record["row_version"])
    assert kept["tier"] == "old" and kept["employees"] == 3
    kept = svc.update("account", record["id"], {"tier": "old", "employees": "4"}, kept["row_version"])
    assert kept["tier"] == "old"
    moved = svc.update("account", record["id"], {"tier": "b"}, kept["row_version"])
    assert moved["tier"] == "b"
    # once changed, the retired value cannot be chosen again
    assert invalid(svc.update, "account", record["id"], {"tier": "old"}, moved["row_version"]) == {
        "tier": ["Choose one of the options."]}


def test_cascade(svc, zh):
    assert invalid(svc.create, "account", {"name": "Acme", "province": "shaanxi", "city": "lanzhou"}) == {
        "city": ["Does not belong to the chosen Province."]}
    assert invalid(zh.create, "account", {"name": "Acme", "province": "shaanxi", "city": "lanzhou"}) == {
        "city": ["与所选省份不匹配。"]}
    assert invalid(svc.create, "account", {"name": "Acme", "city": "xian"}) == {
        "city": ["Does not belong to the chosen Province."]}
    record = svc.create("account", {"name": "Acme", "province": "shaanxi", "city": "xian"})
    # changing the province alone leaves a city that no longer fits
    assert invalid(svc.update, "account", record["id"], {"province": "gansu"}, record["row_version"]) == {
        "city": ["Does not belong to the chosen Province."]}
    moved = svc.update("account", record["id"], {"province": "gansu", "city": "lanzhou"}, record["row_version"])
    assert (moved["province"], moved["city"]) == ("gansu", "lanzhou")
    assert svc.create("account", {"name": "Beta", "province": "gansu"})["city"] is None


# ---------------------------------------------------------------- entity rules
def test_entity_rule_message_on_its_field(svc, zh):
    assert invalid(svc.create, "account", {"name": "Acme", "employees": "5000"}) == {
        "revenue": ["Large accounts need a revenue figure."]}
    assert invalid(zh.create, "account", {"name": "Acme", "employees": "5000"}) == {"revenue": ["大客户需要填写年收入。"]}
    assert svc.create("account", {"name": "Acme", "employees": "5000", "revenue": "1"})["employees"] == 5000
    assert svc.create("account", {"name": "Beta", "employees": "999"})["revenue"] is None


def test_all_problems_are_reported_together(zh):
    errors = invalid(zh.create, "account", {"email": "x", "province": "shaanxi", "city": "lanzhou",
                                            "employees": "5000", "status": "lost"})
    assert errors == {"email": ["请输入有效的电子邮箱。"], "name": ["请填写名称。"], "city": ["与所选省份不匹配。"],
                      "lost_reason": ["请填写流失原因。"], "revenue": ["大客户需要填写年收入。"]}


# ------------------------------------------------------ fields that cannot be set
@pytest.mark.parametrize(
    ("field", "value", "en", "zh_message"),
    [
        ("nosuch", "1", "Unknown field 'nosuch'.", "未知字段“nosuch”。"),
        ("deleted_at", "2024-01-01", "Unknown field 'deleted_at'.", "未知字段“deleted_at”。"),
        ("row_version", 7, "Unknown field 'row_version'.", "未知字段“row_version”。"),
        ("owner", 1, "'Owner' cannot be set here.", "“负责人”不能在此修改。"),
        ("id", 99, "'ID' cannot be set here.", "“编号”不能在此修改。"),
        ("created_by", 1, "'Created by' cannot be set here.", "“创建人”不能在此修改。"),
        ("code", "AC-1-0001", "'Code' cannot be set here.", "“编号”不能在此修改。"),
        ("lines_total", "5", "'Lines total' cannot be set here.", "“明细合计”不能在此修改。"),
    ],
)
def test_fields_that_cannot_be_set(svc, zh, field, value, en, zh_message):
    assert invalid(svc.create, "account", {"name": "Acme", field: value}) == {field: [en]}
    assert invalid(zh.create, "account", {"name": "Acme", field: value}) == {field: [zh_message]}
    assert svc.count("account") == 0
    record = svc.create("account", {"name": "Acme"})
    assert invalid(svc.update, "account", record["id"], {"name": "Changed", field: value}, record["row_version"]) == {field: [en]}
    after = svc.get("account", record["id"])
    assert after["name"] == "Acme" and after["row_version"] == record["row_version"]
    assert after["owner"] == record["owner"] and after["id"] == record["id"]


def test_data_must_be_a_mapping(svc):
    assert invalid(svc.create, "account", ["name", "Acme"]) == {"_record": ["Expected an object of field values."]}
    assert svc.count("account") == 0


def test_check_validates_without_saving(svc):
    values, errors = svc.check("account", {"name": "Acme", "revenue": "10", "employees": "5000", "city": "xian"})
    assert errors == {"city": ["Does not belong to the chosen Province."]}
    assert values["double_revenue"] == 20
    values, errors = svc.check("account", {"name": "Acme", "revenue": "10"})
    assert errors == {} and values["double_revenue"] == 20
    assert svc.count("account") == 0
