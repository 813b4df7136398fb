"""Property: every entity's New and Edit forms, as rendered, save what a person types.

For every top-level entity of the effective metadata — the real packs (base + it_service) on
the demo data, and the test packs (fixture pack, its roles, the approvals pack) — signed in as
an administrator and as a role that may create the entity (from the role metadata):

1. open the New form, fill every shown control with a valid value through its widget
   (lookups through their type-ahead URL, cascading lists through their options URL, grid
   rows from the row template, conditional fields as the form shows them), save as a browser
   with htmx does;
2. read the record back through the record service and through its Edit form: every value
   is what was typed, for every field type, also inside child grids;
3. change every value in the Edit form (and add a grid line), save, read back again.

Fields the metadata marks read-only, and computed ones, must be displayed, never inputs.
No entity or field is listed here: the cases come from the metadata, so a pack that adds an
entity or a field type is covered without upkeep.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from kehu import create_app
from kehu.metadata.loader import load_metadata
from kehu.plugins import field_type_registry, make_plugin_manager
from kehu_forms import RecordForm, same_value, shown_value
from kehu_testing import FIXTURE_PACK, TEST_PASSWORD_METHOD, Client, fresh_database, real_packs

TESTS = Path(__file__).resolve().parents[1]
TEST_PACKS = [FIXTURE_PACK, TESTS / "fixture_roles_pack", TESTS / "workflow_packs" / "approvals"]
TYPES = field_type_registry(make_plugin_manager())
REAL = load_metadata(real_packs(), TYPES)
TESTPACK = load_metadata(TEST_PACKS, TYPES)
SERIAL = itertools.count(1)


def top_entities(meta) -> list[str]:
    return [name for name, e in meta.entities.items() if not e.child_of]


def creator_role(meta, entity: str, held=None) -> str | None:
    """A role (not an administrator's) that may create ``entity``: preferably one that also
    restricts some of its fields, so field access is exercised too."""
    def grants(role):
        perms = role.permissions.get(entity) or role.permissions.get("*") or {}
        return perms.get("create", "none") != "none"

    roles = [r for r in meta.roles.values() if grants(r) and r.name != "system_admin" and (held is None or r.name in held)]
    roles.sort(key=lambda r: (entity not in r.field_access, r.name))
    return roles[0].name if roles else None


def may_write(meta, role: str, entity: str) -> bool:
    perms = meta.roles[role].permissions.get(entity) or meta.roles[role].permissions.get("*") or {}
    return perms.get("write", "none") != "none"


def cases(meta):
    out = []
    for entity in top_entities(meta):
        out.append(pytest.param(entity, None, id=f"{entity}-admin"))
        role = creator_role(meta, entity)
        if role:
            out.append(pytest.param(entity, role, id=f"{entity}-{role}"))
    return out


# --------------------------------------------------------------- the check
def made_from(meta, ent):
    """The lookup a record of ``ent`` is made from, if any: a required lookup that offers a
    "Create …" button on its target (``new_action``) and copies the target's lines (``fill``
    of a child table) — a return is made from its order, never typed from nothing."""
    for fld in ent.lookups():
        fill = fld.get("fill") or {}
        if fld.required and fld.get("new_action") and any(
                ent.fields.get(t) is not None and ent.field(t).type == "child_table" for t in fill):
            return fld
    return None


def source_url(client: Client, site, entity: str, fld, reader) -> tuple[str, set[str]]:
    """The New form opened from a record the user may make one from (the "Create …" button's
    condition holds and its lines are copied), and the fields the form then keeps as opened:
    the lookup and the copied child tables."""
    from kehu import expressions
    from kehu.records.query import ListQuery

    when = fld.get("new_action").get("when")
    grids = {t for t in fld.get("fill") if site.metadata.entity(entity).field(t).type == "child_table"}
    for record in reader.list(fld.target, ListQuery(per_page=200)).rows:
        source = reader.get(fld.target, record["id"])
        if when and not expressions.evaluate(when, reader._env(fld.target, source)):
            continue
        url = f"/app/{entity}/new?{fld.name}={record['id']}"
        form = RecordForm(client, url, site.metadata, site.field_types, 0)
        if form.form.value(fld.name) == str(record["id"]) and all(form.form.rows(g) for g in grids):
            return url, {fld.name} | grids
    raise AssertionError(f"no {fld.target} the user may make a {entity} from")


def round_trip(client: Client, site, entity: str, reader, role: str | None, record_property) -> None:
    """New form -> save -> read back -> Edit form -> change -> save -> read back."""
    meta = site.metadata
    ent = meta.entity(entity)
    url, keep = f"/app/{entity}/new", set()
    source = made_from(meta, ent)
    if source is not None:  # a return from a delivered order: opened from it, its lines as proposed
        url, keep = source_url(client, site, entity, source, reader)
    new = RecordForm(client, url, meta, site.field_types, next(SERIAL), keep)
    problems = not_settable_inputs(new)
    typed = new.fill(0)
    response = new.save()
    assert response.status_code == 204, (
        f"the New {entity} form was refused ({response.status_code}): {new.problems(response)}\n  typed: {typed}")
    record_id = int(re.search(rf"/app/{entity}/(\d+)/edit", response.headers["HX-Redirect"]).group(1))
    record = reader.get(entity, record_id)
    problems += differences(meta, ent, typed, record, "saved from New")

    edit = RecordForm(client, f"/app/{entity}/{record_id}/edit", meta, site.field_types, next(SERIAL), keep)
    problems += not_settable_inputs(edit)
    problems += not_shown(meta, ent, edit, typed, "Edit form after New")
    if role is None or may_write(meta, role, entity):
        typed_again = edit.fill(1)
        response = edit.save()
        assert response.status_code == 204, (
            f"the Edit {entity} form was refused ({response.status_code}): {edit.problems(response)}\n  typed: {typed_again}")
        record = reader.get(entity, record_id)
        problems += differences(meta, ent, typed_again, record, "saved from Edit")
        again = RecordForm(client, f"/app/{entity}/{record_id}/edit", meta, site.field_types, next(SERIAL))
        problems += not_shown(meta, ent, again, typed_again, "Edit form after Edit")
        typed = {**typed, **typed_again}
    assert not problems, f"{entity} as {role or 'admin'}:\n  " + "\n  ".join(problems)
    columns = sum(len(lines[0]) - ("id" in lines[0]) for name, lines in typed.items()
                  if ent.field(name).type == "child_table" and lines)
    types = sorted({ent.field(n).type for n in typed} | {meta.entity(ent.field(n).target).field(c).type
                                                        for n, lines in typed.items() if ent.field(n).type == "child_table"
                                                        for line in lines for c in line if c != "id"})
    record_property("form_fields", len(typed) + columns)
    record_property("form_types", ",".join(types))


def not_settable_inputs(form: RecordForm) -> list[str]:
    """Read-only (metadata) and computed fields offered as inputs."""
    out = []
    for wrapper in form.wrappers():
        fld = form.entity.field(wrapper["data-field"])
        if (fld.get("read_only") or form.types[fld.type].computed) and form.form.has(fld.name):
            out.append(f"{fld.name} ({'read-only' if fld.get('read_only') else 'computed'}) is an input on {form.url}")
    return out


def differences(meta, ent, typed: dict, record: dict, when: str) -> list[str]:
    out = []
    for name, value in typed.items():
        fld = ent.field(name)
        if fld.type == "child_table":
            centity = meta.entity(fld.target)
            lines = record.get(name) or []
            if len(lines) != len(value):
                out.append(f"{when}: {name} has {len(lines)} lines, {len(value)} were typed")
                continue
            for i, (want, got) in enumerate(zip(value, lines)):
                for column, cvalue in want.items():
                    if column == "id":
                        continue
                    cfld = centity.field(column)
                    if not same_value(cfld, TYPES[cfld.type].widget, cvalue, got.get(column)):
                        out.append(f"{when}: {name}[{i}].{column} ({cfld.type}) typed {cvalue!r}, stored {got.get(column)!r}")
            continue
        if not same_value(fld, TYPES[fld.type].widget, value, record.get(name)):
            out.append(f"{when}: {name} ({fld.type}) typed {value!r}, stored {record.get(name)!r}")
    return out


def not_shown(meta, ent, form: RecordForm, typed: dict, when: str) -> list[str]:
    out = []
    for name, value in typed.items():
        fld = ent.field(name)
        if fld.type == "child_table":
            centity = meta.entity(fld.target)
            if form.form.rows(name) != len(value):
                out.append(f"{when}: {name} shows {form.form.rows(name)} lines, {len(value)} were typed")
                continue
            for i, line in enumerate(value):
                for column, cvalue in line.items():
                    cfld = centity.field(column) if column != "id" else None
                    if cfld is not None and not shown_value(form.form, TYPES[cfld.type].widget, f"{name}-{i}-{column}", cvalue):
                        out.append(f"{when}: {name}[{i}].{column} ({cfld.type}) shows {form.form.value(f'{name}-{i}-{column}')!r}, typed {cvalue!r}")
            continue
        if not form.form.has(name) and TYPES[fld.type].widget != "file":
            out.append(f"{when}: {name} is no longer an input")
        elif not shown_value(form.form, TYPES[fld.type].widget, name, value):
            shown = form.form.value(name) if form.form.has(name) else None
            out.append(f"{when}: {name} ({fld.type}) shows {shown!r}, typed {value!r}")
    return out


# --------------------------------------------------- the real packs, demo data
@pytest.mark.parametrize(("entity", "role"), cases(REAL))
def test_real_pack_forms_save_what_was_typed(demo, entity, role, record_property):
    username = "admin" if role is None else demo.template.user_for_role(role)
    assert username, f"no demo user holds the role {role!r}"
    client = demo.client(username, lang="zh")
    round_trip(client, demo.site, entity, demo.service("admin"), role, record_property)


# ------------------------------------------------------------- the test packs
@pytest.fixture(scope="module")
def test_pack_app(tmp_path_factory):
    """The test packs on one database for the module, with a user per role and one record
    of each entity (made through its New form) so lookups have something to offer."""
    folder = tmp_path_factory.mktemp("testpacks")
    with fresh_database(folder) as url:
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(folder / "instance"), "SECRET_KEY": "t",
                          "BASE_PACK": FIXTURE_PACK, "PLUGINS_DIR": None, "PACKS": TEST_PACKS[1:],
                          "PASSWORD_HASH_METHOD": TEST_PASSWORD_METHOD})
        site = app.extensions["kehu"]
        site.migrate()
        site.create_user("admin", "secret-pw", "管理员", is_admin=True, locale="zh")
        for role in site.metadata.roles:
            site.create_user(f"u_{role}", "secret-pw", f"用户 {role}", roles=(role,))
        client = Client(app.test_client())
        client.login("admin", "secret-pw", lang="zh")
        for entity in seed_order(site.metadata):
            form = RecordForm(client, f"/app/{entity}/new", site.metadata, site.field_types, next(SERIAL))
            form.fill(0)
            response = form.save()
            assert response.status_code == 204, f"seeding {entity}: {form.problems(response)}"
        yield app
        site.engine.dispose()


def seed_order(meta) -> list[str]:
    """Entities so that what a required lookup points at comes first."""
    todo, done = top_entities(meta), []
    while todo:
        for name in list(todo):
            needs = {f.target for f in meta.entity(name).lookups() if f.required and f.type == "lookup"} - {name}
            if needs <= set(done):
                done.append(name)
                todo.remove(name)
                break
        else:
            done.extend(todo)
            break
    return done


@pytest.mark.parametrize(("entity", "role"), cases(TESTPACK))
def test_test_pack_forms_save_what_was_typed(test_pack_app, entity, role, record_property):
    site = test_pack_app.extensions["kehu"]
    client = Client(test_pack_app.test_client())
    client.login("admin" if role is None else f"u_{role}", "secret-pw", lang="zh")
    admin = site.records(site.actor(site.authenticate("admin", "secret-pw")), "zh")
    round_trip(client, site, entity, admin, role, record_property)


def test_every_field_type_is_covered_by_some_form():
    """The packs these tests fill hold every registered field type, at the top and in a grid."""
    def kinds(meta):
        top, lines = set(), set()
        for e in meta.entities.values():
            (lines if e.child_of else top).update(f.type for f in e.user_fields())
        return top, lines

    top, lines = (a | b for a, b in zip(kinds(REAL), kinds(TESTPACK)))
    assert set(TYPES) - top == set()
    # a grid exercises each kind of widget a line can hold
    assert {"boolean", "picklist", "date", "lookup", "text", "decimal", "currency", "formula"} <= lines
