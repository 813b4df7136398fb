"""Pages follow permissions, on the demo organisation and the real packs.

For every role of the effective metadata (a demo user who holds just that role, or one made
for it) and for an administrator: the menus list exactly the entities the role documents let
them read, and every New, Edit, Delete, Assign, Share, Export and Recycle-bin control on the
list and detail pages is there exactly when the server accepts it — a control shown is
exercised and must work (its effect is undone afterwards), a control left out is tried anyway
and must be refused with nothing changed. Expected menus and list controls come from the role
documents, not from the policy under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

import pytest

from kehu import create_app
from kehu.demo import DEMO_PASSWORD, load_demo
from kehu.metadata import load_metadata
from kehu.plugins import field_type_registry, make_plugin_manager
from kehu.records.query import ListQuery
from kehu_testing import Client, fresh_database, real_packs, soup

META = load_metadata(real_packs(), field_type_registry(make_plugin_manager()))
ROLES = sorted(META.roles)


@dataclass
class Demo:
    app: object
    site: object
    progress: list  # what load_demo reported: (entity name or None for users, count)
    loaded: dict  # the counts right after loading (None: users)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo organisation and data (small scale) in a database of this module's own."""
    folder = tmp_path_factory.mktemp("demo")
    with fresh_database(folder) as url:
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(folder / "instance"), "SECRET_KEY": "demo-test"})
        site = app.extensions["kehu"]
        site.migrate()
        progress: list = []
        load_demo(site, scale=0.02, progress=lambda entity, n: progress.append((entity.name if entity else None, n)))
        counter = site.records(site.actor(site.authenticate("admin", DEMO_PASSWORD)))
        loaded = {name: counter.count(name) for name in site.metadata.entities}
        loaded[None] = site.user_count()
        yield Demo(app, site, progress, loaded)
        site.engine.dispose()


# ------------------------------------------------------------------ helpers
def grants(roles, entity: str, action: str, admin: bool = False) -> bool:
    """Whether any of ``roles`` grants ``action`` on ``entity`` at some level, read from the
    role documents (an entity the role names decides; '*' covers the others)."""
    if admin:
        return True
    for name in roles:
        perms = META.roles[name].permissions
        if (perms.get(entity, perms.get("*", {})) or {}).get(action, "none") != "none":
            return True
    return False


def user_with_role(demo: Demo, role: str) -> dict:
    """A demo user holding exactly ``role`` (made for it when the demo has none)."""
    site = demo.site
    users, user_roles = site.tables.users, site.tables.user_roles
    import sqlalchemy as sa

    with site.engine.connect() as conn:
        held: dict[int, set] = {}
        for uid, name in conn.execute(sa.select(user_roles.c.user_id, user_roles.c.role)):
            held.setdefault(uid, set()).add(name)
        admins = {uid for (uid,) in conn.execute(sa.select(users.c.id).where(users.c.is_admin.is_(True)))}
    match = sorted(uid for uid, names in held.items() if names == {role} and uid not in admins)
    if match:
        return site.user(match[0])
    uid = site.create_user(f"probe_{role}"[:30], DEMO_PASSWORD, f"Probe {role}", roles=[role], locale="en")
    return site.user(uid)


def admin_user(demo: Demo) -> dict:
    return demo.site.authenticate("admin", DEMO_PASSWORD)


def signed_in(demo: Demo, user: dict) -> Client:
    client = Client(demo.app.test_client())
    assert client.login(user["username"], DEMO_PASSWORD).status_code == 302
    return client


def service(demo: Demo, user: dict):
    return demo.site.records(demo.site.actor(user), "en")


def menu_entities(page) -> set[str]:
    return {urlparse(a["href"]).path.split("/")[2] for a in page["nav.modules details.menu a"]}


def readable_record(demo: Demo, user: dict, entity: str) -> dict | None:
    """A record of ``entity`` the user can read and that waits for no approval."""
    page = service(demo, user).list(entity, ListQuery(per_page=20, sort=("id", False)), ["workflow_state", "owner"])
    return next((r for r in page.rows if r.get("workflow_state") != "pending"), None)


def still_there(demo: Demo, entity: str, record_id: int) -> dict:
    return service(demo, admin_user(demo)).get(entity, record_id)


def other_user(demo: Demo, *not_these: int) -> int:
    """An active user who is none of ``not_these``."""
    import sqlalchemy as sa

    users = demo.site.tables.users
    with demo.site.engine.connect() as conn:
        return conn.execute(sa.select(users.c.id).where(users.c.is_active.is_(True), users.c.id.not_in(not_these))
                            .order_by(users.c.id)).scalars().first()


def exercise_export(client: Client, demo: Demo, entity: str, control=None):
    """Run the export the list page offers (a link, or a form as rendered), or, with no
    control, the export endpoint as a browser would call it."""
    if control is not None and control.name == "a":
        return client.get(control["href"])
    if control is not None:
        form = control if control.name == "form" else control.find_parent("form")
        return client.post_form(form["action"], {})
    rules = [r for r in demo.app.url_map.iter_rules() if r.endpoint == "export.export_csv"]
    if "POST" in rules[0].methods:
        return client.post_form(f"/app/{entity}/export.csv", {})
    return client.get(f"/app/{entity}/export.csv")


# ------------------------------------------------------------------- menus
@pytest.mark.parametrize("role", ROLES)
def test_menus_list_only_the_entities_the_role_reads(demo, role):
    user = user_with_role(demo, role)
    page = soup(signed_in(demo, user).get("/"))
    expected = {e.name for e in META.entities.values() if not e.child_of and grants([role], e.name, "read")}
    assert menu_entities(page) == expected
    # a module with nothing readable is left out; the workbench's module list says the same
    assert all(menu.select("a") for menu in page["nav.modules details.menu"])
    assert {urlparse(a["href"]).path.split("/")[2] for a in page[".wb-modules a"]} == expected
    modules = {m["data-module"] for m in page["nav.modules details.menu"]}
    assert modules == {META.entities[name].module for name in expected}
    assert not page["details.menu.system"]  # the System menu is for administrators


def test_administrators_see_every_module_and_the_system_menu(demo):
    page = soup(signed_in(demo, admin_user(demo)).get("/"))
    assert menu_entities(page) == {e.name for e in META.entities.values() if not e.child_of}
    titles = [m.select_one("summary").get_text(strip=True) for m in page["nav.modules details.menu"]]
    ordered = sorted({e.module for e in META.entities.values() if not e.child_of}, key=lambda m: META.modules[m].order)
    assert titles == [META.modules[m].label.en for m in ordered]
    assert "Repairs" in titles  # the it_service pack's own module
    assert page["details.menu.system"]


# ----------------------------------------------------------------- buttons
def check_list_page(demo: Demo, client: Client, user: dict, roles, admin: bool, entity: str) -> None:
    list_page = soup(client.get(f"/app/{entity}/"))
    new = [a for a in list_page[".title-row .actions a"] if a["href"] == f"/app/{entity}/new"]
    bin_link = [a for a in list_page[".title-row .actions a"] if "deleted=1" in a["href"]]
    assert bool(new) == grants(roles, entity, "create", admin), entity
    assert bool(bin_link) == grants(roles, entity, "delete", admin), entity
    assert client.get(f"/app/{entity}/new").status_code == (200 if new else 403), entity
    assert client.get(f"/app/{entity}/?deleted=1").status_code == (200 if bin_link else 403), entity
    has_rows = bool(list_page["#list tbody tr"])
    export = list_page["#list [data-action=export]"]
    if has_rows:
        assert bool(export) == grants(roles, entity, "export", admin), entity
    allowed = bool(export) if has_rows else grants(roles, entity, "export", admin)  # no link on an empty list
    response = exercise_export(client, demo, entity, export[0] if export else None)
    assert response.status_code == (200 if allowed else 403), entity
    bulk = list_page["form#bulk-assign"]
    if has_rows:
        assert bool(bulk) == grants(roles, entity, "assign", admin), entity


def check_detail_page(demo: Demo, client: Client, user: dict, entity: str) -> None:
    record = readable_record(demo, user, entity)
    if record is None:
        return
    rid = record["id"]
    admin_svc = service(demo, admin_user(demo))
    page = soup(client.get(f"/app/{entity}/{rid}"))
    actions = page[".title-row .actions"][0]
    # Edit: shown exactly when the form opens
    edit = actions.select(f"a[href='/app/{entity}/{rid}/edit']")
    form = client.get(f"/app/{entity}/{rid}/edit")
    assert form.status_code == (200 if edit else 403), (entity, rid)
    if edit:  # "Save & new" only for who may create (a service manager edits contacts, creates none)
        assert bool(soup(form)["button[name=_action][value=save_new]"]) == grants_of(demo, user, entity, "create")
    # Delete: a shown button deletes (undone here); a missing one is refused, nothing changes
    delete = actions.select(f"form[action='/app/{entity}/{rid}/delete']")
    response = client.post_form(f"/app/{entity}/{rid}/delete")
    if delete:
        assert response.status_code == 303, (entity, rid)
        admin_svc.restore(entity, rid)
    else:
        assert response.status_code == 403, (entity, rid)
    assert still_there(demo, entity, rid)["row_version"] >= record["row_version"]
    # Assign: the form gives the record away (and the administrator gives it back)
    owner = still_there(demo, entity, rid)["owner"]
    to = other_user(demo, owner, user["id"])
    response = client.post_form(f"/app/{entity}/{rid}/assign", {"owner": str(to)})
    if page["#assign-form"]:
        assert response.status_code == 303, (entity, rid)
        assert still_there(demo, entity, rid)["owner"] == to
        admin_svc.ownership.assign(entity, [rid], owner)
    else:
        assert response.status_code == 403, (entity, rid)
        assert still_there(demo, entity, rid)["owner"] == owner
    # Share: the form shares (undone here); without it, sharing is refused
    before = admin_svc.ownership.shares(entity, rid)
    response = client.post_form(f"/app/{entity}/{rid}/share", {"principal": f"user:{to}", "access": "read"})
    after = admin_svc.ownership.shares(entity, rid)
    if page["#share-form"]:
        assert response.status_code == 303, (entity, rid)
        for share in after:
            if share["id"] not in {s["id"] for s in before}:
                admin_svc.ownership.unshare(entity, rid, share["id"])
    else:
        assert response.status_code == 403 and after == before, (entity, rid)
    # related lists: "+ New" only for entities the user may create, and it opens
    for link in page[".related a.small"]:
        target = urlparse(link["href"]).path
        assert client.get(link["href"]).status_code == 200, target
    for section in page[".related"]:
        related_entity = section["id"].split("-")[1]
        assert bool(section.select("a.small")) == (
            grants_of(demo, user, related_entity, "create") and not META.entities[related_entity].child_of), section["id"]


def grants_of(demo: Demo, user: dict, entity: str, action: str) -> bool:
    return grants(roles_of(demo, user), entity, action, bool(user["is_admin"]))


def roles_of(demo: Demo, user: dict) -> list[str]:
    import sqlalchemy as sa

    t = demo.site.tables.user_roles
    with demo.site.engine.connect() as conn:
        return list(conn.execute(sa.select(t.c.role).where(t.c.user_id == user["id"])).scalars())


def check_all_pages(demo: Demo, user: dict) -> None:
    client = signed_in(demo, user)
    roles, admin = roles_of(demo, user), bool(user["is_admin"])
    readable = sorted(menu_entities(soup(client.get("/"))))
    assert readable
    for entity in readable:
        check_list_page(demo, client, user, roles, admin, entity)
        check_detail_page(demo, client, user, entity)


@pytest.mark.parametrize("role", ROLES)
def test_every_button_shown_works_and_every_button_left_out_is_refused(demo, role):
    check_all_pages(demo, user_with_role(demo, role))


def test_an_administrators_buttons_all_work(demo):
    check_all_pages(demo, admin_user(demo))


def test_a_sales_rep_sees_no_button_the_server_would_refuse(demo):
    """The case the issue names: a rep (own customers, no delete, no export, no assign)."""
    rep = demo.site.authenticate("zhaolei", DEMO_PASSWORD)
    client = signed_in(demo, rep)
    customer = readable_record(demo, rep, "customer")
    page = soup(client.get(f"/app/customer/{customer['id']}"))
    labels = [el.get_text(strip=True) for el in page[".title-row .actions a, .title-row .actions button"]]
    assert "Edit" in labels and "Delete" not in labels
    assert not page["#assign-form"] and page["#share-form"]  # reps share their customers but do not reassign them
    listing = soup(client.get("/app/customer/"))
    assert [a.get_text(strip=True) for a in listing[".title-row .actions a"]] == ["+ New"]
    assert not listing["#list [data-action=export]"] and not listing["form#bulk-assign"]


def test_the_demo_reports_each_entitys_count_as_it_loads(demo):
    """``kehu demo`` prints these: the last count reported for each entity is what it holds."""
    assert dict(demo.progress) == {name: n for name, n in demo.loaded.items() if n}
    reported = [name for name, _ in demo.progress]
    assert reported.index("customer") < reported.index("contact") < reported.index("quote")  # as they load
