"""The record service: create, read, update, delete and restore, history, optimistic
locking, child lines, concurrent coding, lists, query parsing and lookup search."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from kehu.errors import Conflict, NotFound, RecordInvalid
from kehu.plugins import field_type_registry, make_plugin_manager
from kehu.records import query as list_query
from kehu.records.query import ListQuery

REGISTRY = field_type_registry(make_plugin_manager())
YEAR = dt.date.today().year


# --------------------------------------------------------------------- helpers
def parse(site, args, entity="account", lang="en") -> ListQuery:
    return list_query.parse(site.metadata.entity(entity), site.metadata.layout(entity, "list"), args, REGISTRY, lang)


def names(svc, args, entity="account") -> list[str]:
    query = parse(svc.site, args, entity)
    assert query.errors == []
    return [row["name"] for row in svc.list(entity, query).rows]


@pytest.fixture
def other(site):
    """A second user with a service of their own."""
    uid = site.create_user("li", "pw-123456", "李雷", locale="zh", roles=["editor"])
    return site.records(site.actor(site.user(uid)), "en")


# ------------------------------------------------------------------------ CRUD
def test_create_and_get(svc, admin_id):
    record = svc.create("account", {"name": "Acme", "employees": "12"})
    assert record["id"] > 0 and record["row_version"] == 1
    assert record["owner"] == record["created_by"] == record["updated_by"] == admin_id
    assert record["created_at"] == record["updated_at"]
    assert abs(record["created_at"] - dt.datetime.now()).total_seconds() < 60
    assert record["deleted_at"] is None and record["lines"] == []
    assert svc.get("account", record["id"]) == record


def test_get_unknown_record_or_entity(svc):
    with pytest.raises(NotFound, match="Account 42 does not exist or you cannot see it."):
        svc.get("account", 42)
    with pytest.raises(NotFound, match="No such page: nothing"):
        svc.get("nothing", 1)


def test_update_records_history(svc, other, admin_id):
    record = svc.create("account", {"name": "Acme", "employees": "12", "tier": "a"})
    updated = other.update("account", record["id"], {"employees": "15", "tier": "b", "name": "Acme"}, record["row_version"])
    assert updated["row_version"] == 2 and updated["employees"] == 15 and updated["tier"] == "b"
    assert updated["updated_by"] == other.actor.id and updated["owner"] == admin_id
    history = svc.history("account", record["id"])
    changes = [(h["action"], h["user_name"], h["field"], h["old_value"], h["new_value"], h["row_version"]) for h in history]
    assert sorted(changes[:2]) == [("update", "李雷", "employees", "12", "15", 2), ("update", "李雷", "tier", "a", "b", 2)]
    assert changes[2:] == [("create", "管理员", None, None, None, 1)]


def test_update_without_changes_keeps_the_version(svc):
    record = svc.create("account", {"name": "Acme", "employees": "12", "revenue": "10.5", "tags": ["hot"]})
    same = svc.update("account", record["id"], {"name": "Acme", "employees": "12", "revenue": "10.50", "tags": ["hot"]},
                      record["row_version"])
    assert same["row_version"] == 1 and same["updated_at"] == record["updated_at"]
    assert [h["action"] for h in svc.history("account", record["id"])] == ["create"]


def test_stale_update_is_a_conflict_listing_the_other_change(svc, other):
    record = svc.create("account", {"name": "Acme", "employees": "12", "notes": "mine"})
    theirs = other.update("account", record["id"], {"employees": "20"}, record["row_version"])
    with pytest.raises(Conflict) as info:
        svc.update("account", record["id"], {"employees": "99", "notes": "overwritten?"}, record["row_version"])
    conflict = info.value
    assert "Someone else saved this record after you opened it." in str(conflict)
    assert [(c["field"], c["old_value"], c["new_value"], c["user_name"]) for c in conflict.changes] == [
        ("employees", "12", "20", "李雷")]
    assert conflict.current["row_version"] == theirs["row_version"] == 2
    now = svc.get("account", record["id"])
    assert (now["employees"], now["notes"], now["row_version"]) == (20, "mine", 2)
    # with the current version the save goes through
    assert svc.update("account", record["id"], {"employees": "99"}, now["row_version"])["employees"] == 99


def test_update_needs_a_version(svc):
    record = svc.create("account", {"name": "Acme"})
    with pytest.raises(RecordInvalid) as info:
        svc.update("account", record["id"], {"name": "Other"}, None)
    assert info.value.errors == {"_record": ["The form is missing its version; reload the page."]}
    assert svc.get("account", record["id"])["name"] == "Acme"


def test_delete_to_recycle_bin_and_restore(svc, other):
    record = svc.create("account", {"name": "Acme"})
    svc.delete("account", record["id"])
    with pytest.raises(NotFound):
        svc.get("account", record["id"])
    binned = svc.get("account", record["id"], deleted=True)
    assert binned["deleted_at"] is not None and binned["deleted_by"] == svc.actor.id
    assert svc.count("account") == 0
    assert svc.list("account", ListQuery(deleted=True)).total == 1
    with pytest.raises(NotFound):
        svc.update("account", record["id"], {"name": "x"}, binned["row_version"])
    restored = other.restore("account", record["id"])
    assert restored["deleted_at"] is None and restored["name"] == "Acme"
    assert restored["row_version"] == 3
    assert [h["action"] for h in svc.history("account", record["id"])] == ["restore", "delete", "create"]
    with pytest.raises(NotFound):
        svc.restore("account", record["id"])  # not in the recycle bin any more


def test_deleted_record_is_not_a_lookup_target_in_lists(svc):
    parent = svc.create("account", {"name": "Parent"})
    child = svc.create("account", {"name": "Child", "parent": parent["id"]})
    svc.delete("account", parent["id"])
    page = svc.list("account", parse(svc.site, {"f.name.eq": ["Child"]}), ["name", "parent"])
    assert page.rows[0]["parent"] == parent["id"]
    # no title leaks from the recycle bin: the lookup reads "(deleted)"
    assert page.labels[("account", parent["id"])] == "(deleted)" and "Parent" not in page.labels.values()
    assert svc.get("account", child["id"])["parent"] == parent["id"]


# ----------------------------------------------------------------- child lines
def test_child_lines_update_add_remove(svc, site):
    record = svc.create("account", {"name": "Acme", "lines": [
        {"item": "keep", "quantity": "1", "price": "10"},
        {"item": "change", "quantity": "1", "price": "20"},
        {"item": "drop", "quantity": "1", "price": "30"},
    ]})
    keep, change, drop = record["lines"]
    assert record["lines_total"] == Decimal("60.00")
    updated = svc.update("account", record["id"], {"lines": [
        {"id": keep["id"], "item": "keep", "quantity": "1", "price": "10"},
        {"id": change["id"], "quantity": "3"},
        {"item": "new", "quantity": "2", "price": "5"},
    ]}, record["row_version"])
    lines = updated["lines"]
    assert [(l["id"], l["item"], l["amount"]) for l in lines[:2]] == [
        (keep["id"], "keep", Decimal("10.00")), (change["id"], "change", Decimal("60.00"))]
    assert lines[2]["item"] == "new" and lines[2]["id"] not in (keep["id"], change["id"], drop["id"])
    assert updated["lines_total"] == Decimal("80.00")
    assert updated["row_version"] == 2
    assert lines[0]["row_version"] == 1 and lines[0]["updated_at"] == keep["updated_at"]  # untouched
    assert lines[1]["row_version"] == 2
    table = site.tables["account_line"]
    with site.engine.connect() as conn:
        assert conn.execute(sa.select(table.c.id).where(table.c.id == drop["id"])).first() is None
    history = svc.history("account", record["id"])
    assert ("lines", "+1 ~1 -1") in [(h["field"], h["new_value"]) for h in history]  # added, changed, removed
    assert ("lines_total", "60.00", "80.00") in [(h["field"], h["old_value"], h["new_value"]) for h in history]


def test_child_line_of_another_record_is_refused(svc):
    first = svc.create("account", {"name": "First", "lines": [{"item": "mine"}]})
    second = svc.create("account", {"name": "Second"})
    with pytest.raises(RecordInvalid) as info:
        svc.update("account", second["id"], {"lines": [{"id": first["lines"][0]["id"], "item": "stolen"}]},
                   second["row_version"])
    assert info.value.errors == {"lines.0": ["This line belongs to another record."]}
    assert svc.get("account", first["id"])["lines"][0]["item"] == "mine"


def test_update_without_lines_keeps_them(svc):
    record = svc.create("account", {"name": "Acme", "lines": [{"item": "a", "quantity": "1", "price": "2"}]})
    updated = svc.update("account", record["id"], {"employees": "3"}, record["row_version"])
    assert [l["item"] for l in updated["lines"]] == ["a"] and updated["lines_total"] == Decimal("2.00")


# ------------------------------------------------------------ autonumber race
def test_concurrent_autonumbers_are_distinct_and_sequential(site, admin_id):
    actor = site.actor(site.user(admin_id))
    start = threading.Barrier(8)
    codes: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        svc = site.records(actor, "en")  # a service object of its own
        try:
            start.wait(timeout=30)
            for i in range(10):
                code = svc.create("account", {"name": f"T{n}-{i}"})["code"]
                with lock:
                    codes.append(code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert len(codes) == 80
    assert sorted(codes) == [f"AC-{YEAR}-{n:04d}" for n in range(1, 81)]
    assert site.records(actor, "en").count("account") == 80


# ------------------------------------------------------------------------ lists
@pytest.fixture
def accounts(svc, other, admin_id):
    data = [
        {"name": "Acme Trading", "employees": "10", "tier": "a", "province": "shaanxi", "city": "xian"},
        {"name": "Beta Systems", "employees": "200", "tier": "b", "province": "gansu"},
        {"name": "Gamma 数据", "employees": "50", "tier": "a", "notes": "has notes"},
        {"name": "Delta Labs", "employees": "", "tier": "b"},
        {"name": "Epsilon", "employees": "999"},
    ]
    return [svc.create("account", d) for d in data]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"f.tier.eq": ["a"]}, ["Acme Trading", "Gamma 数据"]),
        ({"f.tier.eq": ["a", "b"]}, ["Acme Trading", "Beta Systems", "Delta Labs", "Gamma 数据"]),
        ({"f.employees.gte": ["50"]}, ["Beta Systems", "Epsilon", "Gamma 数据"]),
        ({"f.employees.lte": ["50"]}, ["Acme Trading", "Gamma 数据"]),
        ({"f.employees.gte": ["20"], "f.employees.lte": ["500"]}, ["Beta Systems", "Gamma 数据"]),
        ({"f.name.contains": ["ta"]}, ["Beta Systems", "Delta Labs"]),
        ({"f.name.contains": ["数据"]}, ["Gamma 数据"]),
        ({"f.employees.empty": ["1"]}, ["Delta Labs"]),
        ({"f.tier.empty": ["1"]}, ["Epsilon"]),
        ({"f.notes.not_empty": ["1"]}, ["Gamma 数据"]),
        ({"f.tier.eq": ["a"], "f.employees.gte": ["20"]}, ["Gamma 数据"]),
        ({"q": ["sys"]}, ["Beta Systems"]),
        ({"q": ["ACME"]}, ["Acme Trading"]),
        ({"q": [f"AC-{YEAR}-0003"]}, ["Gamma 数据"]),
        ({"q": ["%"]}, []),
        ({"q": ["数据"], "f.tier.eq": ["b"]}, []),
    ],
)
def test_list_filters_and_search(svc, accounts, args, expected):
    assert sorted(names(svc, args)) == expected


def test_sort(svc, accounts):
    assert names(svc, {"sort": ["employees"], "f.employees.not_empty": ["1"]}) == [
        "Acme Trading", "Gamma 数据", "Beta Systems", "Epsilon"]
    assert names(svc, {"sort": ["-employees"], "f.employees.not_empty": ["1"]}) == [
        "Epsilon", "Beta Systems", "Gamma 数据", "Acme Trading"]
    assert names(svc, {"sort": ["name"]}) == ["Acme Trading", "Beta Systems", "Delta Labs", "Epsilon", "Gamma 数据"]
    assert names(svc, {"sort": ["-code"]})[0] == "Epsilon"
    # default sort: newest first (ties broken by id, newest first)
    assert names(svc, {}) == ["Epsilon", "Delta Labs", "Gamma 数据", "Beta Systems", "Acme Trading"]


def test_paging(svc):
    for i in range(23):
        svc.create("account", {"name": f"Account {i:02d}"})
    seen = []
    for page in (1, 2, 3):
        result = svc.list("account", parse(svc.site, {"sort": ["name"], "per_page": ["10"], "page": [str(page)]}))
        assert result.total == 23 and result.pages == 3 and result.per_page == 10 and result.page == page
        seen += [r["name"] for r in result.rows]
    assert seen == [f"Account {i:02d}" for i in range(23)]
    beyond = svc.list("account", parse(svc.site, {"page": ["9"], "per_page": ["10"]}))
    assert beyond.rows == [] and beyond.total == 23
    filtered = svc.list("account", parse(svc.site, {"f.name.contains": ["Account 1"], "per_page": ["4"]}))
    assert filtered.total == 10 and len(filtered.rows) == 4 and filtered.pages == 3


def test_list_labels_lookups_and_users(svc, other, accounts):
    child = svc.create("account", {"name": "Child", "parent": accounts[0]["id"], "owner_user": other.actor.id})
    page = svc.list("account", parse(svc.site, {"f.name.eq": ["Child"]}), svc.site.metadata.layout("account", "list").columns)
    assert page.rows[0]["id"] == child["id"]
    assert page.labels[("account", accounts[0]["id"])] == "Acme Trading"
    assert page.labels[("kehu_user", other.actor.id)] == "李雷"


def _count_list_statements(site, svc, per_page: int) -> int:
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    query = parse(site, {"per_page": [str(per_page)]})
    columns = site.metadata.layout("account", "list").columns
    sa.event.listen(site.engine, "before_cursor_execute", count)
    try:
        page = svc.list("account", query, columns)
    finally:
        sa.event.remove(site.engine, "before_cursor_execute", count)
    assert len(page.rows) == per_page
    assert all(r["parent"] is not None and r["owner_user"] is not None for r in page.rows)
    return len(statements)


def test_list_page_statement_count_does_not_grow_with_rows(site, svc, other):
    parents = [svc.create("account", {"name": f"Parent {i}"}) for i in range(3)]
    users = [svc.actor.id, other.actor.id]
    for i in range(50):
        svc.create("account", {"name": f"Child {i:02d}", "parent": parents[i % 3]["id"], "owner_user": users[i % 2],
                               "tier": "a", "province": "shaanxi", "city": "xian"})
    small = _count_list_statements(site, svc, 5)
    large = _count_list_statements(site, svc, 50)
    assert small == large
    assert small <= 6  # count, rows, one label query per lookup target (+ BEGIN on SQLite)


# ------------------------------------------------------------- query parsing
@pytest.mark.parametrize(
    ("args", "errors"),
    [
        ({"f.nosuch.eq": ["1"]}, ["Cannot filter 'nosuch' by 'eq'."]),
        ({"f.name.gte": ["a"]}, ["Cannot filter 'name' by 'gte'."]),
        ({"f.employees.like": ["1"]}, ["Cannot filter 'employees' by 'like'."]),
        ({"f.name": ["a"]}, ["Unknown filter 'f.name'."]),
        ({"f.a.b.c": ["a"]}, ["Unknown filter 'f.a.b.c'."]),
        ({"f.lines_total.contains": ["1"]}, ["Cannot filter 'lines_total' by 'contains'."]),
        ({"sort": ["notes"]}, ["Cannot sort by 'notes'."]),
        ({"sort": ["-lines"]}, ["Cannot sort by 'lines'."]),
        ({"sort": ["nosuch"]}, ["Cannot sort by 'nosuch'."]),
        ({"f.employees.gte": ["ten"]}, ["Employees: Enter a whole number."]),
        ({"f.employees.eq": ["1", "two"]}, ["Employees: Enter a whole number."]),
        ({"f.since.gte": ["2024-02-30"]}, ["Since: Enter a date as YYYY-MM-DD."]),
        ({"f.active.eq": ["perhaps"]}, ["Active: Choose yes or no."]),
        ({"f.tags.has": ["Not A Key"]}, ["Tags: Choose from the list."]),
        ({"page": ["two"]}, ["Page must be a number."]),
        ({"per_page": ["lots"]}, ["Rows per page must be a number."]),
    ],
)
def test_query_parsing_refuses_bad_input(site, args, errors):
    query = parse(site, args)
    assert query.errors == errors
    assert query.filters == [] and query.sort is None


def test_query_parsing_errors_in_chinese(site):
    query = parse(site, {"f.employees.gte": ["ten"], "sort": ["notes"]}, lang="zh")
    assert query.errors == ["不能按“notes”排序。", "员工数: 请输入整数。"]


def test_query_parsing_keeps_the_good_parts(svc, site, accounts):
    query = parse(site, {"f.tier.eq": ["a"], "f.employees.gte": ["many"], "sort": ["-name"], "per_page": ["1000"]})
    assert query.errors == ["Employees: Enter a whole number."]
    assert [(f.field, f.op, f.values) for f in query.filters] == [("tier", "eq", ("a",))]
    assert query.sort == ("name", True) and query.per_page == 200
    assert [r["name"] for r in svc.list("account", query).rows] == ["Gamma 数据", "Acme Trading"]
    assert query.params() == [("f.tier.eq", "a"), ("sort", "-name")]


def test_query_values_reach_sql_as_parameters(svc, accounts):
    hostile = "x' OR '1'='1"
    assert names(svc, {"f.name.eq": [hostile]}) == []
    assert names(svc, {"q": [hostile]}) == []
    assert svc.count("account") == 5


# --------------------------------------------------------------- lookup search
def test_search_lookup(svc, accounts):
    acme, beta, gamma, delta, epsilon = accounts
    assert svc.search_lookup("account", "ta") == [(beta["id"], "Beta Systems"), (delta["id"], "Delta Labs")]
    assert svc.search_lookup("account", "  gamma ") == [(gamma["id"], "Gamma 数据")]
    assert svc.search_lookup("account", epsilon["code"]) == [(epsilon["id"], "Epsilon")]
    assert [label for _, label in svc.search_lookup("account", "")] == [
        "Acme Trading", "Beta Systems", "Delta Labs", "Epsilon", "Gamma 数据"]
    assert len(svc.search_lookup("account", "", limit=2)) == 2
    svc.delete("account", beta["id"])
    assert svc.search_lookup("account", "ta") == [(delta["id"], "Delta Labs")]
    assert svc.search_lookup("account", "Beta") == []


def test_user_choices_search_is_case_insensitive(site, admin_id, other):
    assert site.user_choices("LI") == [(other.actor.id, "李雷")]
    assert site.user_choices("雷") == [(other.actor.id, "李雷")]
    assert set(site.user_choices()) == {(admin_id, "管理员"), (other.actor.id, "李雷")}


def test_money_rounds_half_up(svc):
    record = svc.create("account", {"name": "Round", "lines": [{"item": "x", "quantity": "1", "price": "2.345"}]})
    assert str(record["lines"][0]["price"]) == "2.35"  # half-up, not half-even (2.34)
    assert str(record["lines_total"]) == "2.35"


def test_refused_save_leaves_no_orphan_attachment(svc, site):
    import io

    from werkzeug.datastructures import FileStorage

    upload = FileStorage(io.BytesIO(b"signed"), filename="contract.txt")
    with pytest.raises(RecordInvalid):
        svc.create("account", {"name": "", "contract": upload})  # refused: name is required
    folder = site.attachments.folder
    assert not folder.exists() or list(folder.iterdir()) == []


def test_unique_race_caught_by_the_index_is_a_validation_message(svc, monkeypatch):
    svc.create("account", {"name": "Only one"})
    # as if a concurrent transaction committed between our check and our insert
    monkeypatch.setattr(type(svc), "_collect_unique", lambda *args, **kwargs: None)
    with pytest.raises(RecordInvalid) as refused:
        svc.create("account", {"name": "Only one"})
    assert "same moment" in refused.value.errors["_record"][0]
    assert svc.count("account") == 1
