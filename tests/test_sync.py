"""Schema sync: plans, additive changes that keep data, refusals that change nothing, and
whole-or-nothing migrations, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner

from kehu_testing import FIXTURE_PACK, make_site
from kehu.db import sync
from kehu.db.sync import SyncRefused

SYSTEM_TABLES = ["kehu_user", "kehu_department", "kehu_team", "kehu_team_member", "kehu_user_role", "kehu_share",
                 "kehu_audit", "kehu_history", "kehu_counter", "kehu_meta", "kehu_retired_column",
                 "kehu_workflow_version", "kehu_approval", "kehu_approval_task", "kehu_approval_event",
                 "kehu_delegation", "kehu_notification", "kehu_favourite", "kehu_user_attribute",
                 "kehu_once_key"]


# --------------------------------------------------------------------- helpers
def edit_entity(pack: Path, entity: str, change) -> None:
    """Load an entity document of ``pack``, let ``change(doc)`` edit it, write it back."""
    path = pack / "metadata" / "entities" / f"{entity}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def add_field(pack: Path, entity_name: str, name: str, **props) -> None:
    props = {"type": "text", "label": {"en": name.title(), "zh": name}, **props}
    edit_entity(pack, entity_name, lambda doc: doc["fields"].__setitem__(name, props))


def columns(site, table: str) -> dict[str, str]:
    insp = sa.inspect(site.engine)
    return {c["name"]: str(c["type"]) for c in insp.get_columns(table)}


def rows(site, sql: str) -> list[tuple]:
    with site.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def snapshot(site) -> dict:
    """Every table's columns, indexes and rows: to prove nothing changed."""
    insp = sa.inspect(site.engine)
    out = {}
    for table in sorted(insp.get_table_names()):
        out[table] = (
            sorted((c["name"], str(c["type"])) for c in insp.get_columns(table)),
            sorted(i["name"] for i in insp.get_indexes(table)),
            sorted(rows(site, f'SELECT * FROM "{table}"'), key=repr),
        )
    return out


@pytest.fixture
def pack(tmp_path):
    return Path(shutil.copytree(FIXTURE_PACK, tmp_path / "pack"))


@pytest.fixture
def open_site(db_url, tmp_path, pack):
    """Build a site over the (edited) copied pack; every site is disposed afterwards."""
    opened = []

    def _open(migrate=False):
        site = make_site(db_url, tmp_path, packs=[pack], migrate=migrate)
        opened.append(site)
        return site

    yield _open
    for site in opened:
        site.engine.dispose()


def service(site):
    users = site.tables.users
    with site.engine.connect() as conn:
        uid = conn.execute(sa.select(users.c.id).where(users.c.username == "admin")).scalar()
    if uid is None:
        uid = site.create_user("admin", "secret-pw", "Admin", is_admin=True, locale="en")
    return site.records(site.actor(site.user(uid)), "en")


# ----------------------------------------------------------------------- plans
def test_plan_on_an_empty_database(open_site):
    site = open_site()
    plan = site.plan()
    assert [(s.kind, s.table) for s in plan.steps] == [("create_table", t) for t in SYSTEM_TABLES + ["account", "account_line", "visit"]]
    assert plan.lines()[0] == "create table kehu_user"
    assert not plan.empty and not plan.refused
    assert sa.inspect(site.engine).get_table_names() == []  # planning changes nothing


def test_migrate_twice(open_site):
    site = open_site()
    first = site.migrate()
    assert len(first.steps) == len(SYSTEM_TABLES) + 3
    assert {"account", "account_line", "visit", *SYSTEM_TABLES} <= set(sa.inspect(site.engine).get_table_names())
    assert site.plan().lines() == ["database is up to date"]
    second = site.migrate()
    assert second.steps == [] and second.empty
    assert rows(site, "SELECT value FROM kehu_meta WHERE key = 'metadata_version'") == [(site.metadata.version,)]


def test_indexes_are_created(open_site):
    site = open_site(migrate=True)
    indexes = {i["name"]: i for i in sa.inspect(site.engine).get_indexes("account")}
    assert "ix_account_tier_created_at" in indexes
    assert indexes["uq_account_code"]["unique"] and indexes["uq_account_name"]["unique"]


# ---------------------------------------------------------- additive changes
def test_add_field_to_a_table_with_rows(open_site, pack):
    site = open_site(migrate=True)
    svc = service(site)
    acme = svc.create("account", {"name": "Acme", "employees": "12", "lines": [{"item": "x", "quantity": "1", "price": "5"}]})
    site.engine.dispose()

    add_field(pack, "account", "region", max_length=20)
    add_field(pack, "account", "partner", type="lookup", entity="visit")
    site = open_site()
    plan = site.plan()
    assert [str(s) for s in plan.steps if s.kind == "add_column"] == [
        f"add column account.region {sa.String(20).compile(site.engine.dialect)}",
        f"add column account.partner {sa.Integer().compile(site.engine.dialect)}",
    ]
    site.migrate()
    assert {"region", "partner"} <= set(columns(site, "account"))
    svc = service(site)
    kept = svc.get("account", acme["id"])
    assert (kept["name"], kept["employees"], kept["region"], kept["code"]) == ("Acme", 12, None, acme["code"])
    assert [l["item"] for l in kept["lines"]] == ["x"]
    updated = svc.update("account", acme["id"], {"region": "西北"}, kept["row_version"])
    assert updated["region"] == "西北"
    assert site.plan().lines() == ["database is up to date"]


def test_removed_field_is_retired_with_its_data(open_site, pack):
    add_field(pack, "account", "memo")
    site = open_site(migrate=True)
    svc = service(site)
    acme = svc.create("account", {"name": "Acme", "memo": "remember me"})
    site.engine.dispose()

    edit_entity(pack, "account", lambda doc: doc["fields"].pop("memo"))
    site = open_site()
    plan = site.plan()
    assert plan.lines() == ["retire column account.memo (kept with its data)"]
    site.migrate()
    assert "memo" in columns(site, "account")
    assert rows(site, f"SELECT memo FROM account WHERE id = {acme['id']}") == [("remember me",)]
    assert rows(site, "SELECT table_name, column_name FROM kehu_retired_column") == [("account", "memo")]
    assert site.plan().lines() == ["database is up to date"]
    # the record still works without the field
    svc = service(site)
    assert "memo" not in svc.get("account", acme["id"])
    assert svc.create("account", {"name": "Beta"})["name"] == "Beta"


def test_renamed_from_keeps_the_data(open_site, pack):
    add_field(pack, "account", "memo")
    site = open_site(migrate=True)
    svc = service(site)
    acme = svc.create("account", {"name": "Acme", "memo": "remember me",
                                  "lines": [{"item": "a", "quantity": "1", "price": "2"}, {"item": "b"}]})
    svc.create("visit", {"subject": "Call", "account": acme["id"]})
    site.engine.dispose()

    def rename(doc):
        doc["fields"]["remark"] = dict(doc["fields"].pop("memo"), renamed_from="memo")
    edit_entity(pack, "account", rename)
    site = open_site()
    assert site.plan().lines() == ["rename column account.memo -> remark"]
    site.migrate()
    cols = columns(site, "account")
    assert "remark" in cols and "memo" not in cols
    assert service(site).get("account", acme["id"])["remark"] == "remember me"
    assert site.plan().lines() == ["database is up to date"]


def test_child_rows_survive_a_rebuild_of_the_parent_table(open_site, pack):
    # on SQLite a rename rebuilds the account table (copy, drop, rename); with foreign keys
    # on, dropping it would cascade-delete every account_line row
    add_field(pack, "account", "memo")
    site = open_site(migrate=True)
    svc = service(site)
    acme = svc.create("account", {"name": "Acme", "memo": "m",
                                  "lines": [{"item": "a", "quantity": "1", "price": "2"}, {"item": "b"}]})
    svc.create("visit", {"subject": "Call", "account": acme["id"]})
    site.engine.dispose()

    edit_entity(pack, "account", lambda doc: doc["fields"].__setitem__(
        "remark", dict(doc["fields"].pop("memo"), renamed_from="memo")))
    site = open_site()
    site.migrate()
    assert rows(site, "SELECT item, account FROM account_line ORDER BY id") == [("a", acme["id"]), ("b", acme["id"])]
    assert rows(site, "SELECT subject, account FROM visit") == [("Call", acme["id"])]
    record = service(site).get("account", acme["id"])
    assert [l["item"] for l in record["lines"]] == ["a", "b"] and record["lines_total"] == 2
    if site.engine.dialect.name == "sqlite":
        # foreign keys are back on for later connections, and still hold
        with site.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        with pytest.raises(sa.exc.IntegrityError), site.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO account_line (account, item, created_at, updated_at, row_version) "
                                 "VALUES (9999, 'orphan', '2024-01-01', '2024-01-01', 1)")


def test_widening_text_is_allowed(open_site, pack):
    site = open_site(migrate=True)
    service(site).create("account", {"name": "Acme"})
    site.engine.dispose()
    edit_entity(pack, "account", lambda doc: doc["fields"]["name"].__setitem__("max_length", 300))
    site = open_site()
    site.migrate()
    assert site.plan().lines() == ["database is up to date"]
    long_name = "x" * 300
    assert service(site).create("account", {"name": long_name})["name"] == long_name
    assert rows(site, "SELECT name FROM account ORDER BY id")[0] == ("Acme",)


# ----------------------------------------------------------------- refusals
def narrow_name(doc):
    doc["fields"]["name"]["max_length"] = 50


def employees_to_text(doc):
    field = doc["fields"]["employees"]
    for prop in ("min", "max"):
        field.pop(prop)
    field.update(type="text", max_length=20)


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        (narrow_name, "change type of account.name: text length 100 -> 50"),
        (employees_to_text, "change type of account.employees: int -> string"),
    ],
    ids=["narrow-text", "integer-to-text"],
)
def test_lossy_changes_are_refused_and_change_nothing(open_site, pack, change, refused):
    site = open_site(migrate=True)
    service(site).create("account", {"name": "A" * 90, "employees": "42"})
    before = snapshot(site)
    site.engine.dispose()

    edit_entity(pack, "account", change)
    site = open_site()
    plan = site.plan()
    assert [str(s) for s in plan.refused] == [refused + "  [REFUSED: may lose data; use --force]"]
    with pytest.raises(SyncRefused) as info:
        site.migrate()
    assert [s.kind for s in info.value.steps] == ["change_type"]
    assert snapshot(site) == before


def test_refused_step_blocks_the_safe_steps_too(open_site, pack):
    site = open_site(migrate=True)
    before = snapshot(site)
    site.engine.dispose()
    edit_entity(pack, "account", lambda doc: doc["fields"]["name"].__setitem__("max_length", 10))
    add_field(pack, "visit", "outcome")
    site = open_site()
    with pytest.raises(SyncRefused):
        site.migrate()
    assert "outcome" not in columns(site, "visit")
    assert snapshot(site) == before


# ------------------------------------------------------------- transactions
def test_failed_migration_leaves_the_database_as_it_was(open_site, pack, monkeypatch):
    site = open_site(migrate=True)
    service(site).create("account", {"name": "Acme"})
    before = snapshot(site)
    site.engine.dispose()

    add_field(pack, "account", "region")
    add_field(pack, "visit", "outcome")
    site = open_site()
    real_execute = sync._execute

    def execute_then_fail(conn, todo, tables, *more):
        real_execute(conn, todo, tables, *more)  # the columns are added...
        assert "region" in {c["name"] for c in sa.inspect(conn).get_columns("account")}
        raise RuntimeError("disk full")  # ...then something breaks

    monkeypatch.setattr(sync, "_execute", execute_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        site.migrate()
    assert snapshot(site) == before  # no new column: the DDL was rolled back
    assert "region" not in columns(site, "account") and "outcome" not in columns(site, "visit")

    monkeypatch.setattr(sync, "_execute", real_execute)
    assert [s.kind for s in site.migrate().steps] == ["add_column", "add_column"]
    assert "region" in columns(site, "account")


def test_failed_first_migration_creates_no_tables(open_site, monkeypatch):
    site = open_site()
    real_execute = sync._execute

    def execute_then_fail(conn, todo, tables, *more):
        real_execute(conn, todo, tables, *more)
        raise RuntimeError("boom")

    monkeypatch.setattr(sync, "_execute", execute_then_fail)
    with pytest.raises(RuntimeError):
        site.migrate()
    assert sa.inspect(site.engine).get_table_names() == []


# ------------------------------------------------------------------------- CLI
@pytest.fixture
def cli(db_url, tmp_path, monkeypatch):
    """The ``kehu`` command over ``db_url`` (real packs); its engines are disposed afterwards."""
    from kehu import cli as cli_module

    monkeypatch.setenv("KEHU_DATABASE_URL", db_url)
    monkeypatch.setenv("KEHU_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("KEHU_PACKS", raising=False)
    apps = []
    real_app = cli_module._app

    def tracked_app(*args):
        apps.append(real_app(*args))
        return apps[-1]

    monkeypatch.setattr(cli_module, "_app", tracked_app)
    yield lambda *args: CliRunner().invoke(cli_module.main, list(args))
    for app in apps:
        app.extensions["kehu"].engine.dispose()


def test_cli_migrate_dry_run_prints_the_plan_and_changes_nothing(cli, db_url):
    result = cli("migrate", "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  create table kehu_user" in lines
    assert "  create table customer" in lines and "  create table repair_order" in lines
    assert "Applied" not in result.output
    engine = sa.create_engine(db_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()

    applied = cli("migrate")
    assert applied.exit_code == 0, applied.output
    assert applied.output.splitlines()[-1].startswith("Applied ")
    again = cli("migrate", "--dry-run")
    assert again.exit_code == 0 and again.output.splitlines() == ["database is up to date"]


def test_list_filters_get_indexes_with_names_postgresql_keeps():
    from kehu.db.tables import build_tables
    from kehu.metadata import load_metadata
    from kehu.plugins import field_type_registry, make_plugin_manager
    from kehu_testing import real_packs

    registry = field_type_registry(make_plugin_manager())
    tables = build_tables(load_metadata(real_packs(), registry), registry)
    names = [index.name for table in tables.entities.values() for index in table.indexes]
    assert names and max(len(n) for n in names) <= 63
    assert len(names) == len(set(names))
    customer = {tuple(c.name for c in index.columns) for index in tables["customer"].indexes}
    assert ("industry",) in customer  # a picklist offered as a list filter
    assert ("value_tier", "created_at") in customer  # declared in metadata
    assert ("value_tier",) not in customer  # the declared index already starts with it
    assert ("parent",) in customer  # lookups are indexed
