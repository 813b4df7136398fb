"""Permissions end to end: who sees, changes, exports, assigns and shares which records.

The expected answers are computed here, in plain Python, from the role YAML files themselves
(read with ``yaml.safe_load``, merged across packs, levels applied to a department tree this
module walks on its own), and compared with what the record service and its policy answer:
lists, counts, single-record checks and the SQL predicate. Then the same rules through the web
pages: 404 that looks like "missing", 403 that changes nothing, hidden fields in every path,
lookups, sharing limits, transfer, deactivation and the audit log.
"""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from kehu import create_app
from kehu.errors import Forbidden, NotFound, RecordInvalid
from kehu.org import OrgService
from kehu.records.query import ListQuery
from kehu_testing import FIXTURE_PACK, Client, fresh_database, make_site, real_packs, soup

PASSWORD = "pw-secret-123"

# the documented levels, narrowest first (docs/metadata.md, "Role")
LEVEL_ORDER = ("none", "own", "department", "department_tree", "all")
ACTIONS = ("read", "write", "delete", "export", "assign", "share")


# ---------------------------------------------------------------- database per site
# ------------------------------------------------------------- the independent model
def role_documents(pack_dirs) -> dict[str, dict]:
    """Role documents of the packs, merged as docs/metadata.md describes: a later pack adds
    entities to a role's permissions and fields (and may change single actions)."""
    roles: dict[str, dict] = {}
    for pack in pack_dirs:
        for folder in ("metadata", "layouts", "workflows"):
            root = Path(pack) / folder
            if not root.is_dir():
                continue
            for path in sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()):
                doc = yaml.safe_load(path.read_text(encoding="utf-8"))
                if not isinstance(doc, dict) or doc.get("kind") != "role":
                    continue
                role = roles.setdefault(doc["name"], {"permissions": {}, "fields": {}})
                for section in ("permissions", "fields"):
                    for entity, values in (doc.get(section) or {}).items():
                        role[section].setdefault(entity, {}).update(values)
    return roles


def granting_fields(pack_dirs) -> dict[str, dict[str, tuple[str, set[str]]]]:
    """Per entity, the fields that grant access, read from the entity YAML files as
    docs/permissions.md describes them: field -> (``grants`` or ``grants_manager``, actions),
    where write includes read. A later pack's document may add the key to a field."""
    found: dict[str, dict[str, tuple[str, set[str]]]] = {}
    for pack in pack_dirs:
        root = Path(pack) / "metadata"
        for path in sorted(root.rglob("*.yaml")) if root.is_dir() else ():
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or doc.get("kind") != "entity":
                continue
            for fname, fdef in (doc.get("fields") or {}).items():
                for key in ("grants", "grants_manager"):
                    if fdef.get(key):
                        actions = set(fdef[key]) | ({"read"} if "write" in fdef[key] else set())
                        found.setdefault(doc["name"], {})[fname] = (key, actions)
    return found


@dataclass
class Model:
    """Who is who and what exists, kept by the test as it builds the site."""

    roles: dict[str, dict]                                  # role documents
    parents: dict[int, int | None] = field(default_factory=dict)          # department -> parent
    user_roles: dict[int, tuple[str, ...]] = field(default_factory=dict)
    user_dept: dict[int, int | None] = field(default_factory=dict)
    user_teams: dict[int, set[int]] = field(default_factory=dict)
    records: dict[str, dict[int, int]] = field(default_factory=dict)      # entity -> live id -> owner
    deleted: dict[str, set[int]] = field(default_factory=dict)
    shares: list[tuple[str, int, str, int, str]] = field(default_factory=list)  # entity, id, kind, principal, access
    grants: dict[str, dict[str, tuple[str, set[str]]]] = field(default_factory=dict)  # granting fields per entity
    values: dict[str, dict[int, dict[str, object]]] = field(default_factory=dict)  # entity -> id -> granting field values
    managed: dict[int, set[str]] = field(default_factory=dict)  # user -> codes of the departments they manage

    def level(self, user: int, entity: str, action: str) -> str:
        """The widest level the user's roles give; a role's entry for the entity decides,
        an action it leaves out is 'none', '*' covers the entities it does not name."""
        best = 0
        for name in self.user_roles.get(user, ()):
            perms = self.roles[name]["permissions"]
            entry = perms[entity] if entity in perms else perms.get("*", {})
            best = max(best, LEVEL_ORDER.index(entry.get(action, "none")))
        return LEVEL_ORDER[best]

    def below(self, root: int) -> set[int]:
        """``root`` and every department under it, by walking the parent links."""
        found = {root}
        grew = True
        while grew:
            grew = False
            for dept, parent in self.parents.items():
                if parent in found and dept not in found:
                    found.add(dept)
                    grew = True
        return found

    def reaches_owner(self, user: int, level: str, owner: int) -> bool:
        if level == "all":
            return True
        if level == "none":
            return False
        if owner == user:  # 'own', and every wider level includes one's own records
            return True
        if level == "own":
            return False
        mine = self.user_dept.get(user)
        if mine is None:
            return False
        theirs = self.user_dept.get(owner)
        return theirs == mine if level == "department" else theirs in self.below(mine)

    def shared_with(self, user: int, entity: str, record_id: int, action: str) -> bool:
        if action not in ("read", "write"):
            return False
        accesses = ("read", "write") if action == "read" else ("write",)
        for s_entity, rid, kind, principal, access in self.shares:
            if s_entity != entity or rid != record_id or access not in accesses:
                continue
            if (kind == "user" and principal == user) or \
               (kind == "team" and principal in self.user_teams.get(user, set())) or \
               (kind == "department" and self.user_dept.get(user) is not None and principal == self.user_dept[user]):
                return True
        return False

    def granted(self, user: int, entity: str, record_id: int, action: str) -> bool:
        """A granting field names the user (``grants``) or a department they manage
        (``grants_manager``); an export reaches what they so read if their roles export at all."""
        if action == "export" and self.level(user, entity, "export") != "none":
            action = "read"
        values = self.values.get(entity, {}).get(record_id, {})
        for fname, (key, actions) in self.grants.get(entity, {}).items():
            if action not in actions or values.get(fname) is None:
                continue
            if key == "grants" and values[fname] == user:
                return True
            if key == "grants_manager" and values[fname] in self.managed.get(user, set()):
                return True
        return False

    def expected(self, user: int, entity: str, action: str) -> set[int]:
        level = self.level(user, entity, action)
        return {rid for rid, owner in self.records.get(entity, {}).items()
                if self.reaches_owner(user, level, owner) or self.shared_with(user, entity, rid, action)
                or self.granted(user, entity, rid, action)}


def service_for(site, user_id, lang="en"):
    return site.records(site.actor(site.user(user_id)), lang)


def listed_ids(svc, entity: str) -> set[int]:
    page = svc.list(entity, ListQuery(per_page=200), ["id"], exact_count=True)
    assert page.total == len(page.rows) <= 200
    return {r["id"] for r in page.rows}


def ids_by_predicate(svc, entity: str, action: str) -> set[int]:
    """The same predicate the lists use, asked directly (live records only)."""
    ent = svc.entity(entity)
    table = svc.tables[entity]
    with svc.site.reading() as conn:
        return {r for (r,) in conn.execute(sa.select(table.c.id).where(
            table.c.deleted_at.is_(None), svc.policy.predicate(ent, table, action)))}


# ====================================================== 1. the matrix, real role documents
DEPARTMENTS = (  # key, name, parent key: four levels under the general manager's office
    ("gm_office", "总经理办公室", None),
    ("sales_division", "销售事业部", "gm_office"),
    ("sales_1", "销售一部", "sales_division"),
    ("sales_2", "销售二部", "sales_division"),
    ("service", "服务部", "gm_office"),
    ("field_service", "现场服务组", "service"),
    ("marketing", "市场部", "gm_office"),
    ("product", "产品部", "gm_office"),
)

USERS = (  # username, roles, department key (None: not placed yet)
    ("gm", ("general_manager",), "gm_office"),
    ("it_admin", ("system_admin",), "gm_office"),  # the role, not the is_admin flag
    ("director", ("sales_manager",), "sales_division"),
    ("manager1", ("sales_manager",), "sales_1"),
    ("rep1a", ("sales_rep",), "sales_1"),
    ("rep1b", ("sales_rep",), "sales_1"),
    ("rep2", ("sales_rep",), "sales_2"),
    ("service_mgr", ("service_manager",), "service"),
    ("engineer", ("service_engineer",), "field_service"),
    ("marketer", ("marketing",), "marketing"),
    ("product_owner", ("product_maintainer",), "product"),
    ("newcomer", ("sales_manager",), None),
    ("hybrid", ("sales_rep", "service_engineer"), "sales_2"),
)

OWNERS = ("rep1a", "rep1b", "rep2", "manager1", "director", "engineer", "service_mgr", "gm", "marketer",
          "product_owner", "newcomer", "hybrid")

MATRIX_ENTITIES = ("customer", "contact", "lead", "opportunity", "product", "service_request",
                   "knowledge_article", "activity", "feedback", "repair_order")


def record_data(entity: str, n: int, customer_id: int | None) -> dict:
    return {
        "customer": {"name": f"西安测试客户{n:03d}有限公司"},
        "contact": {"name": f"联系人{n:03d}", "customer": customer_id},
        "lead": {"company_name": f"线索公司{n:03d}"},
        "opportunity": {"name": f"商机{n:03d}", "customer": customer_id, "expected_close": "2026-12-31"},
        "product": {"name": f"产品{n:03d}"},
        "service_request": {"subject": f"服务请求{n:03d}", "customer": customer_id, "description": "打印机卡纸"},
        "knowledge_article": {"title": f"知识文章{n:03d}", "content": "<p>处理步骤</p>"},
        "activity": {"subject": f"活动{n:03d}", "due_at": "2026-07-01 10:00"},
        "feedback": {"subject": f"反馈{n:03d}", "type": "suggestion", "department": "sales", "content": "建议"},
        "repair_order": {"customer": customer_id, "fault_description": "无法开机"},
    }[entity]


@dataclass
class World:
    site: object
    model: Model
    users: dict[str, int]
    depts: dict[str, int]
    team: int


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("matrix")
    with fresh_database(folder) as url:
        packs = real_packs()
        site = make_site(url, folder, packs)
        try:
            yield build_world(site, packs)
        finally:
            site.engine.dispose()


def build_world(site, packs) -> World:
    admin_id = site.create_user("admin", PASSWORD, "管理员", is_admin=True, locale="en")
    admin = service_for(site, admin_id)
    org = OrgService(site, admin.actor, "en")
    model = Model(role_documents(packs), grants=granting_fields(packs))
    depts: dict[str, int] = {}
    for key, name, parent in DEPARTMENTS:
        depts[key] = org.create_department(name, parent_id=depts[parent] if parent else None)
        model.parents[depts[key]] = depts[parent] if parent else None
    users: dict[str, int] = {}
    for username, roles, dept in USERS:
        users[username] = site.create_user(username, PASSWORD, username, roles=list(roles),
                                           department_id=depts[dept] if dept else None, locale="en")
        model.user_roles[users[username]] = roles
        model.user_dept[users[username]] = depts[dept] if dept else None
    team = org.create_team("大客户攻坚组", members=[users["rep2"], users["engineer"]])
    for member in ("rep2", "engineer"):
        model.user_teams[users[member]] = {team}

    customer = admin.create("customer", record_data("customer", 999, None))["id"]
    model.records["customer"] = {customer: admin_id}
    n = 0
    for entity in MATRIX_ENTITIES:
        by_owner: dict[str, list[int]] = {}
        for owner in OWNERS + ("rep1a",):  # rep1a's second record goes to the recycle bin
            n += 1
            record = admin.create(entity, record_data(entity, n, customer))
            by_owner.setdefault(owner, []).append(record["id"])
        for owner, ids in by_owner.items():
            admin.ownership.assign(entity, ids, users[owner])
        live = {rid: users[owner] for owner, ids in by_owner.items() for rid in ids}
        binned = by_owner["rep1a"][-1]
        admin.delete(entity, binned)
        del live[binned]
        model.records.setdefault(entity, {}).update(live)
        model.deleted[entity] = {binned}

    def owned(entity, owner):
        return min(rid for rid, o in model.records[entity].items() if o == users[owner])

    for entity, owner, kind, principal, access in (
        ("customer", "rep1b", "user", users["rep1a"], "read"),
        ("customer", "rep2", "department", depts["sales_1"], "write"),
        ("opportunity", "rep1b", "team", team, "write"),
        ("service_request", "engineer", "user", users["rep2"], "read"),
        ("contact", "gm", "department", depts["sales_2"], "read"),
        ("knowledge_article", "marketer", "user", users["engineer"], "write"),
        ("lead", "director", "user", users["rep1a"], "write"),
        ("repair_order", "service_mgr", "team", team, "read"),
        ("product", "gm", "department", depts["field_service"], "write"),
    ):
        rid = owned(entity, owner)
        admin.ownership.share(entity, rid, kind, principal, access)
        model.shares.append((entity, rid, kind, principal, access))

    # fields that grant access: assigned engineers, a feedback handler, and feedback routed to
    # a department (its code 'sales', managed by the director) -- beside what the repair
    # orders' dispatch rule assigned when they were created
    org.update_department(depts["sales_division"], name="销售事业部", name_en=None, parent_id=depts["gm_office"],
                          manager_id=users["director"], code="sales")
    model.managed[users["director"]] = {"sales"}
    for entity, owner, fname, assignee in (
        ("service_request", "rep1a", "engineer", "engineer"), ("service_request", "service_mgr", "engineer", "hybrid"),
        ("service_request", "gm", "engineer", "rep2"), ("feedback", "rep2", "handler", "marketer"),
        ("feedback", "gm", "handler", "engineer"), ("repair_order", "product_owner", "engineer", "rep1b"),
    ):
        rid = owned(entity, owner)
        record = admin.get(entity, rid)
        admin.update(entity, rid, {fname: users[assignee]}, record["row_version"])
    for entity, fields in model.grants.items():
        for rid in model.records.get(entity, {}):
            record = admin.get(entity, rid)
            model.values.setdefault(entity, {})[rid] = {f: record.get(f) for f in fields}
    return World(site, model, users, depts, team)


def test_the_world_is_what_the_matrix_assumes(world):
    """The seeded organisation and records are really there (so the matrix means something)."""
    site, model = world.site, world.model
    org = OrgService(site, None)
    tree = org.departments()
    assert {d.id: d.parent_id for d in tree.values()} == model.parents
    assert org.subtree(world.depts["gm_office"]) == set(model.parents)  # one tree, four levels
    assert world.depts["field_service"] in model.below(world.depts["service"])
    for entity in MATRIX_ENTITIES:
        owners = set(model.records[entity].values())
        assert {world.users[o] for o in OWNERS} <= owners, entity
    loaded = site.metadata.roles
    for name, doc in model.roles.items():  # the YAML read here agrees with the loader's merge
        assert {e: dict(v) for e, v in loaded[name].permissions.items()} == doc["permissions"], name
    # the matrix exercises every level, and shares that reach past a level
    cases = [(world.users[u], e, a) for u, _r, _d in USERS for e in MATRIX_ENTITIES for a in ACTIONS]
    assert {model.level(*case) for case in cases} == set(LEVEL_ORDER)
    by_share = [c for c in cases if c[2] in ("read", "write") and any(
        model.shared_with(c[0], c[1], rid, c[2]) and not model.reaches_owner(c[0], model.level(*c), owner)
        for rid, owner in model.records[c[1]].items())]
    assert {kind for _e, _r, kind, _p, _a in model.shares} == {"user", "team", "department"} and len(by_share) >= 8
    # and granting fields that reach past a level: the engineer field, the handler, the routed department
    by_field = {(c[1], c[2]) for c in cases if any(
        model.granted(c[0], c[1], rid, c[2]) and not model.reaches_owner(c[0], model.level(*c), owner)
        and not model.shared_with(c[0], c[1], rid, c[2]) for rid, owner in model.records[c[1]].items())}
    assert {("service_request", "read"), ("service_request", "write"), ("feedback", "read"), ("feedback", "write"),
            ("repair_order", "read"), ("repair_order", "write")} <= by_field
    assert {key for fields in model.grants.values() for key, _a in fields.values()} == {"grants", "grants_manager"}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("entity", MATRIX_ENTITIES)
@pytest.mark.parametrize("username", [u[0] for u in USERS])
def test_permission_matrix(world, username, entity, action):
    site, model = world.site, world.model
    uid = world.users[username]
    svc = service_for(site, uid)
    ent = site.metadata.entity(entity)
    expected = model.expected(uid, entity, action)
    live = set(model.records[entity])

    # the entity-level answer (may they do it at all) follows the role documents
    assert svc.policy.can(ent, action) == (model.level(uid, entity, action) != "none")
    # one record at a time, by the same SQL as the lists
    assert {rid for rid in live if svc.policy.can(ent, action, {"id": rid})} == expected
    # and as a set, through the predicate
    assert ids_by_predicate(svc, entity, action) == expected
    if action == "read":
        listed = listed_ids(svc, entity)
        assert listed == expected
        assert not listed & model.deleted[entity]  # the recycle bin is not a list
        assert svc.count(entity) == len(expected)
        for rid in sorted(live - expected)[:3]:
            with pytest.raises(NotFound):
                svc.get(entity, rid)
        for rid in sorted(expected)[:3]:
            assert svc.get(entity, rid)["id"] == rid


def test_counts_follow_search_within_what_one_reads(world):
    """The count path with a search: a record one cannot read is not counted, even when the
    search names it exactly."""
    site, model = world.site, world.model
    admin = service_for(site, site.authenticate("admin", PASSWORD)["id"])
    names = {r["id"]: r["name"] for r in admin.list("customer", ListQuery(per_page=200), ["name"]).rows}
    for username in ("manager1", "rep1a", "engineer", "newcomer"):
        uid = world.users[username]
        svc = service_for(site, uid)
        readable = model.expected(uid, "customer", "read")
        counted = {rid for rid, name in names.items() if svc.count("customer", ListQuery(q=name)) == 1}
        assert counted == readable, username
        assert all(svc.count("customer", ListQuery(q=names[rid])) == 0 for rid in set(names) - readable)


def test_a_manager_without_a_department_still_reaches_their_own_records(world):
    """'department_tree' never gives less than 'own': a newly hired manager with no
    department yet sees, and can open, what they own (and nothing of anyone else's)."""
    svc = service_for(world.site, world.users["newcomer"])
    mine = {rid for rid, o in world.model.records["customer"].items() if o == world.users["newcomer"]}
    assert listed_ids(svc, "customer") == mine
    created = svc.create("customer", {"name": "新经理自建客户"})  # the create reads it back
    assert svc.get("customer", created["id"])["name"] == "新经理自建客户"
    with world.site.writing() as conn:  # leave the matrix's world as it was
        table = world.site.tables["customer"]
        conn.execute(sa.delete(world.site.tables.history).where(
            world.site.tables.history.c.entity == "customer", world.site.tables.history.c.record_id == created["id"]))
        conn.execute(sa.delete(table).where(table.c.id == created["id"]))


# ========================================== 2. random organisations, brute force (hypothesis)
FIXTURE_ROLES = ("rep", "manager", "viewer", "editor")


@st.composite
def organisations(draw):
    """Departments as a random forest (chains likely), people placed in them with one or two
    roles and teams, accounts owned mostly by them, and shares of every kind."""
    n_depts = draw(st.integers(1, 6))
    parents = [draw(st.sampled_from([None, i - 1, i - 1, i // 2])) if i else None for i in range(n_depts)]
    dept = st.sampled_from([*range(n_depts), *range(n_depts), None])  # now and then someone not placed
    role_sets = st.sampled_from([["manager"], ["manager"], ["rep"], ["viewer"], ["editor"], ["rep", "viewer"],
                                 ["manager", "rep"], ["viewer", "manager"], []])
    users = draw(st.lists(st.fixed_dictionaries({"roles": role_sets, "dept": dept, "teams": st.sets(st.integers(0, 1))}),
                          min_size=3, max_size=6))
    owners = draw(st.lists(st.sampled_from(range(len(users) + 1)), min_size=6, max_size=10))  # len(users): the admin
    shares = draw(st.lists(st.tuples(
        st.integers(0, len(owners) - 1), st.sampled_from(("user", "team", "department")),
        st.integers(0, 5), st.sampled_from(("read", "write"))), max_size=6))
    binned = draw(st.sets(st.integers(0, len(owners) - 1), max_size=2))
    # granting fields: an account manager (a user, now and then) and a department the account is
    # routed to, whose manager (a user, now and then) may read it
    managers = [draw(st.sampled_from([None, *range(len(users))])) for _ in range(n_depts)]
    assignees = [draw(st.sampled_from([None, None, *range(len(users))])) for _ in owners]
    routes = [draw(st.sampled_from([None, *range(n_depts)])) for _ in owners]
    return parents, users, owners, shares, binned, (managers, assignees, routes)


GRANTS_PACK = Path(__file__).parent / "fixture_grants_pack"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
def test_random_organisations_match_brute_force(scenario):
    parents, users, owners, shares, binned, granted = scenario
    with tempfile.TemporaryDirectory() as folder, fresh_database(folder) as url:
        site = make_site(url, Path(folder), [FIXTURE_PACK, GRANTS_PACK])
        try:
            check_organisation(site, parents, users, owners, shares, binned, granted)
        finally:
            site.engine.dispose()


def check_organisation(site, parents, users, owners, shares, binned, granted=((), (), ())):
    managers, assignees, routes = granted
    model = Model(role_documents([FIXTURE_PACK]), grants=granting_fields([FIXTURE_PACK, GRANTS_PACK]))
    admin_id = site.create_user("admin", PASSWORD, "管理员", is_admin=True)
    admin = service_for(site, admin_id)
    org = OrgService(site, admin.actor)
    depts: list[int] = []
    for i, parent in enumerate(parents):
        depts.append(org.create_department(f"部门{i}", parent_id=depts[parent] if parent is not None else None, code=f"d{i}"))
        model.parents[depts[-1]] = depts[parent] if parent is not None else None
    teams = [org.create_team(f"团队{i}") for i in range(2)]
    user_ids: list[int] = []
    for i, spec in enumerate(users):
        uid = site.create_user(f"user{i}", PASSWORD, f"用户{i}", roles=spec["roles"],
                               department_id=depts[spec["dept"]] if spec["dept"] is not None else None,
                               teams=[teams[t] for t in sorted(spec["teams"])])
        user_ids.append(uid)
        model.user_roles[uid] = tuple(spec["roles"])
        model.user_dept[uid] = depts[spec["dept"]] if spec["dept"] is not None else None
        model.user_teams[uid] = {teams[t] for t in spec["teams"]}
    everyone = user_ids + [admin_id]
    for i, manager in enumerate(managers):
        if manager is not None:
            org.update_department(depts[i], name=f"部门{i}", name_en=None, parent_id=model.parents[depts[i]],
                                  manager_id=user_ids[manager], code=f"d{i}")
            model.managed.setdefault(user_ids[manager], set()).add(f"d{i}")
    records: list[int] = []
    lines: dict[int, int] = {}  # account -> its line (owned by the admin who wrote it)
    for i, owner in enumerate(owners):
        assignee = user_ids[assignees[i]] if i < len(assignees) and assignees[i] is not None else None
        route = f"d{routes[i]}" if i < len(routes) and routes[i] is not None else None
        created = admin.create("account", {"name": f"客户{i}", "owner_user": assignee, "routed_to": route,
                                           "lines": [{"item": f"明细{i}"}]})
        records.append(created["id"])
        lines[created["id"]] = created["lines"][0]["id"]
        model.values.setdefault("account", {})[created["id"]] = {"owner_user": assignee, "routed_to": route}
        if everyone[owner] != admin_id:
            admin.ownership.assign("account", [records[-1]], everyone[owner])
    for index, kind, principal, access in shares:
        pool = {"user": everyone, "team": teams, "department": depts}[kind]
        if not pool:
            continue
        target = pool[principal % len(pool)]
        admin.ownership.share("account", records[index], kind, target, access)
        model.shares = [s for s in model.shares if not (s[1] == records[index] and s[2] == kind and s[3] == target)]
        model.shares.append(("account", records[index], kind, target, access))  # a new share replaces the old
    for index in binned:
        admin.delete("account", records[index])
    model.records["account"] = {rid: everyone[o] for i, (rid, o) in enumerate(zip(records, owners)) if i not in binned}

    account = site.metadata.entity("account")
    for uid in user_ids:
        svc = service_for(site, uid)
        read = {r["id"] for r in svc.list("account", ListQuery(per_page=200)).rows}
        assert read == model.expected(uid, "account", "read"), (uid, model)
        assert svc.count("account") == len(read)
        live = set(model.records["account"])
        writable = {rid for rid in live if svc.policy.can(account, "write", {"id": rid})}
        assert writable == model.expected(uid, "account", "write"), (uid, model)
        # lines follow their account: readable (writable) through it, or by the line's own level
        for action in ("read", "write"):
            by_level = model.reaches_owner(uid, model.level(uid, "account_line", action), admin_id)  # the admin's lines
            through = model.expected(uid, "account", action)
            want = {line for rid, line in lines.items() if by_level or rid in through}
            assert ids_by_predicate(svc, "account_line", action) == want, (uid, action, model)


# ============================================================ 3. the pages (fixture pack)
def site_of(app):
    return app.extensions["kehu"]


def admin_of(app):
    site = site_of(app)
    return service_for(site, site.authenticate("admin", "secret-pw")["id"])


def add_user(app, username, roles, department_id=None) -> int:
    return site_of(app).create_user(username, PASSWORD, username.replace("_", " ").title(), roles=list(roles),
                                    department_id=department_id, locale="en")


def signed_in(app, username) -> Client:
    client = Client(app.test_client())
    assert client.login(username, PASSWORD).status_code == 302
    return client


def owned_by(app, owner: int, entity="account", **values) -> dict:
    admin = admin_of(app)
    record = admin.create(entity, values)
    admin.ownership.assign(entity, [record["id"]], owner)
    return admin.get(entity, record["id"])


def stored(app, entity, record_id) -> dict:
    site = site_of(app)
    table = site.tables[entity]
    with site.reading() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == record_id)).mappings().one())


def trail(app) -> tuple[int, int, int]:
    """How many history, audit and share rows there are (a refused request adds none)."""
    site = site_of(app)
    with site.reading() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                     for t in (site.tables.history, site.tables.audit, site.tables.shares))


def audit_rows(app, action=None) -> list[dict]:
    site = site_of(app)
    audit = site.tables.audit
    stmt = sa.select(audit).order_by(audit.c.id)
    if action:
        stmt = stmt.where(audit.c.action == action)
    with site.reading() as conn:
        return [dict(r) | {"detail": json.loads(r["detail"] or "{}")} for r in conn.execute(stmt).mappings()]


def error_text(response, record_id) -> str:
    """The error section, with the asked-for id taken out (it is echoed back either way)."""
    return re.sub(rf"\b{record_id}\b", "<id>", soup(response).text(".error-page"))


@pytest.fixture
def team_a(app):
    """Two reps and a viewer in one department; each rep owns an account."""
    admin = admin_of(app)
    dept = OrgService(site_of(app), admin.actor).create_department("销售一部")
    ids = {name: add_user(app, name, roles, dept)
           for name, roles in (("rep_a", ["rep"]), ("rep_b", ["rep"]), ("viewer", ["viewer"]), ("rep_c", ["rep"]))}
    ids["dept"] = dept
    ids["mine"] = owned_by(app, ids["rep_a"], name="Alpha Own Trading")
    ids["theirs"] = owned_by(app, ids["rep_b"], name="Alpha Other Holdings", revenue="555000")
    return ids


def test_unreadable_record_answers_404_exactly_like_a_missing_one(app, team_a):
    client = signed_in(app, "rep_a")
    theirs, missing = team_a["theirs"]["id"], 987654
    assert client.get(f"/app/account/{team_a['mine']['id']}").status_code == 200
    before, counts = stored(app, "account", theirs), trail(app)
    for method, url in (("get", "/app/account/{}"), ("get", "/app/account/{}/edit"),
                        ("get", "/app/account/{}/file/contract"),
                        ("post", "/app/account/{}/edit"), ("post", "/app/account/{}/delete"),
                        ("post", "/app/account/{}/restore")):
        for htmx in (False, True):
            def ask(record_id):
                path = url.format(record_id)
                if method == "get":
                    return client.get(path, headers={"HX-Request": "true"} if htmx else {})
                return client.post_form(path, {"name": "Taken over", "row_version": "2"}, htmx=htmx)
            hidden, absent = ask(theirs), ask(missing)
            assert hidden.status_code == absent.status_code == 404, (method, url, htmx)
            assert error_text(hidden, theirs) == error_text(absent, missing) != "", (method, url, htmx)
            assert "Alpha Other" not in hidden.get_data(as_text=True)
    assert stored(app, "account", theirs) == before
    assert trail(app) == counts


def test_readable_record_one_may_not_change_answers_403_and_nothing_changes(app, team_a):
    client = signed_in(app, "viewer")  # reads the department's accounts, changes none
    rid = team_a["theirs"]["id"]
    assert client.get(f"/app/account/{rid}").status_code == 200
    assert client.get(f"/app/account/{rid}/edit").status_code == 403  # no form one could not save
    before, counts = stored(app, "account", rid), trail(app)
    for htmx in (False, True):
        edit = client.post_form(f"/app/account/{rid}/edit", {"name": "Renamed", "row_version": before["row_version"]},
                                htmx=htmx)
        assert edit.status_code == 403
        assert "not allowed" in edit.get_data(as_text=True)
        delete = client.post_form(f"/app/account/{rid}/delete", htmx=htmx)
        assert delete.status_code == 403
    after = stored(app, "account", rid)
    assert after == before  # row version, values and the recycle-bin stamp all as they were
    assert after["deleted_at"] is None
    assert trail(app) == counts  # no history row, no audit row


# ------------------------------------------------------- hidden fields, in every path
SECRETS = ("777111", "777,111", "1554222", "1,554,222", "333222", "333,222", "666445", "666,445",
           "888999", "888,999", "1777999", "1,777,999")


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} shows in {where}"


@pytest.fixture
def rep_world(app):
    """A rep (revenue hidden, tier read-only) owning two accounts with revenues, and a visit."""
    rep = add_user(app, "rep_a", ["rep"])
    alpha = owned_by(app, rep, name="Alpha Trading", tier="a", revenue="777111.25", employees="12")
    beta = owned_by(app, rep, name="Beta Holdings", tier="b", revenue="333222.75")
    visit = owned_by(app, rep, "visit", subject="Kick-off", account=alpha["id"])
    return {"rep": rep, "alpha": alpha, "beta": beta, "visit": visit}


def test_hidden_field_is_absent_from_the_list_and_its_filter_bar(app, client, rep_world):
    client.login()  # the administrator sees revenue: the page does show it to those allowed
    page = soup(client.get("/app/account/"))
    assert "Revenue" in [th.get_text(strip=True) for th in page["#list thead th"]]
    assert page["[data-filter=revenue]"]
    rep = signed_in(app, "rep_a")
    response = rep.get("/app/account/")
    page = soup(response)
    headers = [th.get_text(strip=True) for th in page["#list thead th"]]
    assert "Revenue" not in headers and "Tier" in headers
    assert not page["[data-filter=revenue]"] and not page["[name^='f.revenue']"]
    assert len(page["#list tbody tr"]) == 2
    assert_no_secret(response.get_data(as_text=True), "the list")


@pytest.mark.parametrize("args, message", [
    ("f.revenue.gte=1", "Cannot filter 'revenue'"),
    ("f.revenue.gte=999999999", "Cannot filter 'revenue'"),
    ("f.double_revenue.gte=999999999", "Cannot filter 'double_revenue'"),  # a formula of revenue
    ("f.revenue.empty=1", "Cannot filter 'revenue'"),
    ("sort=-revenue", "Cannot sort by 'revenue'"),
    ("sort=double_revenue", "Cannot sort by 'double_revenue'"),
])
def test_filtering_or_sorting_on_a_hidden_field_is_refused_and_not_applied(app, rep_world, args, message):
    rep = signed_in(app, "rep_a")
    page = soup(rep.get(f"/app/account/?{args}"))
    assert message in page.text("#list .alert.error")
    # not applied: both rows, in the default order (newest first), not by revenue
    assert [tr.select("td")[1].get_text(strip=True) for tr in page["#list tbody tr"]] == ["Beta Holdings", "Alpha Trading"]
    exported = rep.post_form("/app/account/export.csv", dict([args.split("=", 1)]))
    assert exported.status_code == 400  # an export is refused outright rather than widened
    assert_no_secret(exported.get_data(as_text=True), "the refused export")


def test_service_refuses_filters_on_hidden_fields_and_ignores_hidden_sorts(app, rep_world):
    from kehu.records.query import Filter

    svc = service_for(site_of(app), rep_world["rep"])
    with pytest.raises(Forbidden):
        svc.list("account", ListQuery(filters=[Filter("revenue", "gte", (1,), ("1",))]))
    with pytest.raises(Forbidden):
        svc.count("account", ListQuery(filters=[Filter("revenue", "gte", (10**9,), ("1000000000",))]))
    rows = svc.list("account", ListQuery(sort=("revenue", True))).rows
    assert [r["name"] for r in rows] == ["Beta Holdings", "Alpha Trading"]


def test_hidden_field_is_absent_from_detail_and_form_and_read_only_field_has_no_input(app, rep_world):
    rep = signed_in(app, "rep_a")
    alpha = rep_world["alpha"]["id"]
    detail = rep.get(f"/app/account/{alpha}")
    page = soup(detail)
    labels = [dt.get_text(strip=True) for dt in page["dl.grid dt"]]
    assert "Revenue" not in labels and "Tier" in labels
    assert page.text("[data-field=tier] dd") == "Key account"
    assert_no_secret(detail.get_data(as_text=True), "the detail page")
    form = rep.get(f"/app/account/{alpha}/edit")
    page = soup(form)
    assert not page["[name=revenue]"] and not page["[data-field=revenue]"]
    assert not page["[data-field=double_revenue]"]  # a formula over revenue gives it away
    assert page["output#f-tier.readonly"] and page.text("output#f-tier") == "Key account"
    assert not page["[name=tier]"]
    assert_no_secret(form.get_data(as_text=True), "the edit form")
    new = rep.get("/app/account/new")
    assert not soup(new)["[name=revenue]"] and not soup(new)["[name=tier]"]


def test_hidden_field_changes_are_absent_from_the_history(app, rep_world):
    admin = admin_of(app)
    alpha = rep_world["alpha"]
    admin.update("account", alpha["id"], {"revenue": "888999.50", "employees": "15"}, alpha["row_version"])
    fields = {h["field"] for h in admin.history("account", alpha["id"])}
    assert {"revenue", "double_revenue", "employees"} <= fields
    svc = service_for(site_of(app), rep_world["rep"])
    seen = {h["field"] for h in svc.history("account", alpha["id"])}
    assert "employees" in seen and not seen & {"revenue", "double_revenue"}
    rep = signed_in(app, "rep_a")
    timeline = rep.get(f"/app/account/{alpha['id']}")
    assert "Employees" in soup(timeline).text(".timeline") and "Revenue" not in soup(timeline).text(".timeline")
    assert_no_secret(timeline.get_data(as_text=True), "the history")


def test_hidden_field_is_absent_from_service_results(app, rep_world):
    svc = service_for(site_of(app), rep_world["rep"])
    record = svc.get("account", rep_world["alpha"]["id"])
    assert "revenue" not in record and "double_revenue" not in record and record["tier"] == "a"
    assert_no_secret(json.dumps(record, default=str), "svc.get")
    page = svc.list("account", ListQuery())
    assert page.rows and all("revenue" not in r and "double_revenue" not in r for r in page.rows)
    assert_no_secret(json.dumps(page.rows, default=str), "svc.list")
    values, _errors = svc.check("account", {"employees": "20"}, rep_world["alpha"]["id"])
    assert "revenue" not in values and "double_revenue" not in values


def test_hidden_field_is_absent_from_lookups_and_their_labels(app, rep_world):
    rep = signed_in(app, "rep_a")
    visits = rep.get("/app/visit/")
    assert "Alpha Trading" in visits.get_data(as_text=True)
    assert_no_secret(visits.get_data(as_text=True), "the visit list")
    visit = rep.get(f"/app/visit/{rep_world['visit']['id']}")
    assert_no_secret(visit.get_data(as_text=True), "the visit page")
    results = rep.get("/app/visit/-/lookup/account?target=account&account__search=Alpha")
    assert [b.get_text(strip=True) for b in soup(results)["[data-pick]"]] == ["Alpha Trading"]
    assert_no_secret(results.get_data(as_text=True), "the lookup")


def test_hidden_field_is_absent_from_the_csv_export(app, client, rep_world):
    client.login()
    full = client.post_form("/app/account/export.csv").get_data(as_text=True)
    assert "Revenue" in full.splitlines()[0] and "777111.25" in full  # it is exported to those allowed
    rep = signed_in(app, "rep_a")
    response = rep.post_form("/app/account/export.csv")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    header = text.lstrip("\ufeff").splitlines()[0].split(",")
    assert "Revenue" not in header and "Double revenue" not in header and "Tier" in header
    assert "Alpha Trading" in text and "Beta Holdings" in text
    assert_no_secret(text, "the export")


@pytest.mark.parametrize("field, value, label", [
    pytest.param("revenue", "1", "Revenue"),                # hidden
    ("tier", "b", "Tier"),                                                       # read-only for the rep
    ("owner", "1", "Owner"),                                                     # server-owned
    ("created_by", "1", "Created by"),
    pytest.param("double_revenue", "5", "Double revenue"),  # computed, hidden
    ("lines_total", "5", "Lines total"),                                         # computed
])
def test_mass_assignment_is_refused_by_name_and_nothing_saved(app, rep_world, field, value, label):
    rep = signed_in(app, "rep_a")
    alpha = rep_world["alpha"]
    before, counts = stored(app, "account", alpha["id"]), trail(app)
    response = rep.post_form(f"/app/account/{alpha['id']}/edit",
                             {"name": "Alpha Trading Renamed", field: value, "row_version": alpha["row_version"]})
    assert response.status_code == 422
    svc = service_for(site_of(app), rep_world["rep"])
    with pytest.raises(RecordInvalid) as refused:
        svc.update("account", alpha["id"], {"name": "Alpha Trading Renamed", field: value}, alpha["row_version"])
    assert field in refused.value.errors
    created = rep.post_form("/app/account/new", {"name": "Sneaky New", field: value})
    assert created.status_code == 422
    assert stored(app, "account", alpha["id"]) == before
    assert trail(app) == counts
    assert admin_of(app).count("account") == 2
    page = soup(response)
    shown = page.text(".alert.error") + page.text(f"#err-{field}")
    assert label in shown  # the refusal names the field


def test_row_version_cannot_be_set_as_a_field(app, rep_world):
    svc = service_for(site_of(app), rep_world["rep"])
    alpha = rep_world["alpha"]
    before = stored(app, "account", alpha["id"])
    for name in ("row_version", "deleted_at", "workflow_state", "id"):
        with pytest.raises(RecordInvalid) as refused:
            svc.update("account", alpha["id"], {name: 99, "name": "Changed"}, alpha["row_version"])
        assert name in refused.value.errors
    with pytest.raises(RecordInvalid):
        svc.update("account", alpha["id"], {"name": {"$ne": "x"}}, alpha["row_version"])  # a dict is no name
    assert stored(app, "account", alpha["id"]) == before


# ------------------------------------------------------- search and lookups reveal nothing
ROLES_PACK = Path(__file__).parent / "fixture_roles_pack"  # the clerk and the intern, on top of the fixture pack


@pytest.fixture
def roles_app(db_url, tmp_path):
    app = create_app({
        "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "test-secret",
        "BASE_PACK": FIXTURE_PACK, "PLUGINS_DIR": None, "PACKS": [str(ROLES_PACK)],
    })
    site = app.extensions["kehu"]
    site.migrate()
    site.create_user("admin", "secret-pw", "管理员", is_admin=True, locale="en")
    yield app
    site.engine.dispose()


@pytest.fixture
def clerk_world(roles_app):
    app = roles_app
    """A clerk (the account's code, a search field, is hidden) and an intern (code and name,
    the title other records show, are hidden), each with an account and a visit to it."""
    clerk = add_user(app, "clerk", ["clerk"])
    intern = add_user(app, "intern", ["intern"])
    secret = owned_by(app, clerk, name="Zenith Quantum Works", notes="pays late")
    other = owned_by(app, intern, name="Nadir Photonics")
    visit = owned_by(app, intern, "visit", subject="Quarterly review", account=other["id"])
    return {"clerk": clerk, "intern": intern, "secret": secret, "other": other, "visit": visit}


def test_search_does_not_match_hidden_values(roles_app, clerk_world):
    app = roles_app
    site = site_of(app)
    code = clerk_world["secret"]["code"]
    admin = admin_of(app)
    assert admin.count("account", ListQuery(q=code)) == 1 and admin.count("account", ListQuery(q="Zenith")) == 1
    svc = service_for(site, clerk_world["clerk"])
    assert svc.count("account", ListQuery(q="Zenith")) == 1  # the visible name still searches
    for term in (code, code[-4:], code.split("-")[0]):
        assert svc.list("account", ListQuery(q=term)).rows == [], term
        assert svc.count("account", ListQuery(q=term)) == 0, term
        assert svc.search_lookup("account", term) == [], term
    client = signed_in(app, "clerk")
    page = client.get(f"/app/account/?q={code}")
    assert "No records match." in page.get_data(as_text=True)
    assert "Cannot filter 'notes'" in soup(client.get("/app/account/?f.notes.contains=late")).text("#list .alert.error")
    assert "Cannot filter 'code'" in soup(client.get(f"/app/account/?f.code.eq={code}")).text("#list .alert.error")


def test_search_over_only_hidden_fields_matches_nothing(roles_app, clerk_world):
    app = roles_app
    svc = service_for(site_of(app), clerk_world["intern"])
    assert svc.count("account") == 1
    assert svc.count("account", ListQuery(q="Nadir")) == 0
    assert svc.count("account", ListQuery(q="no such text at all")) == 0


def test_the_reps_search_does_not_match_a_hidden_revenue(app, rep_world):
    svc = service_for(site_of(app), rep_world["rep"])
    for term in ("777111", "777111.25", "333222"):
        assert svc.count("account", ListQuery(q=term)) == 0
    assert svc.count("account", ListQuery(q="Alpha")) == 1


def test_lookup_labels_do_not_show_a_hidden_title(roles_app, clerk_world):
    app = roles_app
    assert "name" in service_for(site_of(app), clerk_world["intern"]).policy.hidden_fields(
        site_of(app).metadata.entity("account"))
    client = signed_in(app, "intern")
    for url in ("/app/visit/", f"/app/visit/{clerk_world['visit']['id']}",
                f"/app/visit/{clerk_world['visit']['id']}/edit",
                "/app/visit/-/lookup/account?target=account&account__search="):
        response = client.get(url)
        assert response.status_code == 200
        assert "Nadir" not in response.get_data(as_text=True), url


def test_lookup_lists_only_readable_records_and_a_visit_cannot_point_elsewhere(app, team_a):
    client = signed_in(app, "rep_a")
    results = soup(client.get("/app/visit/-/lookup/account?target=account&account__search=Alpha"))
    assert [b.get_text(strip=True) for b in results["[data-pick]"]] == ["Alpha Own Trading"]
    assert [int(b["data-pick"]) for b in results["[data-pick]"]] == [team_a["mine"]["id"]]
    everything = soup(client.get("/app/visit/-/lookup/account?target=account&account__search="))
    assert [b.get_text(strip=True) for b in everything["[data-pick]"]] == ["Alpha Own Trading"]
    other = team_a["theirs"]["id"]
    filtered = client.get(f"/app/visit/?f.account.eq={other}")  # a filter label must not name it either
    assert "Alpha Other" not in filtered.get_data(as_text=True)
    counts = trail(app)
    refused = client.post_form("/app/visit/new", {"subject": "Poaching", "account": str(other)})
    assert refused.status_code == 422
    assert "Choose an existing record you can see." in soup(refused).text("#err-account")
    assert "Alpha Other" not in refused.get_data(as_text=True)
    svc = service_for(site_of(app), team_a["rep_a"])
    with pytest.raises(RecordInvalid) as exc:
        svc.create("visit", {"subject": "Poaching", "account": other})
    assert "account" in exc.value.errors
    assert admin_of(app).count("visit") == 0 and trail(app) == counts
    mine = svc.create("visit", {"subject": "Own visit", "account": team_a["mine"]["id"]})
    with pytest.raises(RecordInvalid):  # nor can an existing visit be moved onto it
        svc.update("visit", mine["id"], {"account": other}, mine["row_version"])
    with pytest.raises(RecordInvalid):  # nor an account's parent
        svc.update("account", team_a["mine"]["id"], {"parent": other}, team_a["mine"]["row_version"])


# ------------------------------------------------------------------------------ sharing
def test_a_read_share_reads_but_neither_writes_nor_reshares(app, team_a):
    site = site_of(app)
    theirs = team_a["theirs"]
    owner = service_for(site, team_a["rep_b"])
    share_id = owner.ownership.share("account", theirs["id"], "user", team_a["rep_a"], "read")
    svc = service_for(site, team_a["rep_a"])
    assert theirs["id"] in listed_ids(svc, "account")
    assert svc.get("account", theirs["id"])["name"] == "Alpha Other Holdings"
    before, counts = stored(app, "account", theirs["id"]), trail(app)
    with pytest.raises(Forbidden):
        svc.update("account", theirs["id"], {"name": "Mine now"}, theirs["row_version"])
    with pytest.raises(Forbidden):
        svc.delete("account", theirs["id"])
    for access in ("write", "read"):  # re-sharing is a permission of its own: the owner's here
        with pytest.raises(Forbidden):
            svc.ownership.share("account", theirs["id"], "user", team_a["rep_c"], access)
        with pytest.raises(Forbidden):
            svc.ownership.share("account", theirs["id"], "department", team_a["dept"], access)
    with pytest.raises(Forbidden):
        svc.ownership.unshare("account", theirs["id"], share_id)
    with pytest.raises(Forbidden):
        svc.ownership.assign("account", [theirs["id"]], team_a["rep_a"])
    client = signed_in(app, "rep_a")
    assert client.get(f"/app/account/{theirs['id']}").status_code == 200
    assert client.post_form(f"/app/account/{theirs['id']}/edit",
                            {"name": "Mine now", "row_version": theirs["row_version"]}).status_code == 403
    assert stored(app, "account", theirs["id"]) == before and trail(app) == counts
    assert service_for(site, team_a["rep_c"]).count("account") == 0  # nothing reached them


def test_one_cannot_share_for_writing_what_one_may_only_read(app, team_a):
    """The viewer reads the department's accounts, may share none; a rep owner may share
    theirs for writing; nobody gets more through a share than the sharer had."""
    site = site_of(app)
    theirs = team_a["theirs"]
    viewer = service_for(site, team_a["viewer"])
    assert viewer.get("account", theirs["id"])
    counts = trail(app)
    for access in ("read", "write"):
        with pytest.raises(Forbidden):
            viewer.ownership.share("account", theirs["id"], "user", team_a["rep_a"], access)
    assert trail(app) == counts
    owner = service_for(site, team_a["rep_b"])
    owner.ownership.share("account", theirs["id"], "user", team_a["rep_a"], "write")
    svc = service_for(site, team_a["rep_a"])
    changed = svc.update("account", theirs["id"], {"name": "Alpha Other Holdings Ltd"}, theirs["row_version"])
    assert changed["name"] == "Alpha Other Holdings Ltd"
    with pytest.raises(Forbidden):  # a write share does not make them an owner either
        svc.ownership.share("account", theirs["id"], "user", team_a["rep_c"], "read")
    with pytest.raises(Forbidden):
        svc.delete("account", theirs["id"])


def test_a_role_that_grants_nothing_on_an_entity_does_not_open_its_fields(tmp_path):
    """sales_rep shows the customer's credit limit read-only; adding product_maintainer (which
    grants nothing on customers) must not make it editable; service_engineer hides the
    customer's bank account, and an unrelated role must not reveal it."""
    with fresh_database(tmp_path) as url:
        site = make_site(url, tmp_path, real_packs())
        try:
            customer = site.metadata.entity("customer")
            for roles, field_name, access in (
                (["sales_rep"], "credit_limit", "read_only"),
                (["sales_rep", "product_maintainer"], "credit_limit", "read_only"),
                (["service_engineer", "product_maintainer"], "bank_account", "hidden"),
                (["service_engineer", "marketing"], "annual_revenue", "editable"),  # marketing reads customers
                (["sales_rep", "product_maintainer"], "name", "editable"),
            ):
                uid = site.create_user("u" + uuid.uuid4().hex[:8], PASSWORD, "User", roles=roles)
                svc = service_for(site, uid)
                assert svc.policy.field_access(customer, field_name) == access, (roles, field_name)
            product = site.metadata.entity("product")
            uid = site.create_user("both", PASSWORD, "Both", roles=["sales_rep", "product_maintainer"])
            assert service_for(site, uid).policy.field_access(product, "cost_price") == "editable"
        finally:
            site.engine.dispose()


# ---------------------------------------------------------------- transfer, deactivation
def test_transfer_moves_everything_with_history_and_one_audit_row(app, team_a):
    site = site_of(app)
    admin = admin_of(app)
    leaver, heir = team_a["rep_a"], team_a["rep_b"]
    extra = owned_by(app, leaver, name="Alpha Second")
    binned = owned_by(app, leaver, name="Alpha Binned")
    admin.delete("account", binned["id"])
    visits = [owned_by(app, leaver, "visit", subject=f"Visit {i}", account=team_a["mine"]["id"])["id"] for i in range(2)]
    moving = {"account": {team_a["mine"]["id"], extra["id"]}, "visit": set(visits)}

    with pytest.raises(Forbidden):
        service_for(site, leaver).ownership.transfer_preview(leaver, heir)
    with pytest.raises(Forbidden):
        service_for(site, team_a["viewer"]).ownership.transfer(leaver, heir)
    assert admin.ownership.transfer_preview(leaver, heir) == [("account", 2), ("visit", 2)]
    assert admin.ownership.transfer(leaver, heir) == [("account", 2), ("visit", 2)]

    for entity, ids in moving.items():
        for rid in ids:
            assert stored(app, entity, rid)["owner"] == heir
            history = [h for h in admin.history(entity, rid) if h["field"] == "owner"]
            assert [(h["old_value"], h["new_value"]) for h in history][0] == (str(leaver), str(heir))
    assert stored(app, "account", binned["id"])["owner"] == leaver  # the recycle bin stays put
    assert admin.ownership.transfer_preview(leaver, heir) == []
    rows = audit_rows(app, "transfer.all")
    assert len(rows) == 1
    assert rows[0]["detail"] == {"from": leaver, "to": heir, "moved": {"account": 2, "visit": 2}}
    assert listed_ids(service_for(site, leaver), "account") == set()
    assert moving["account"] <= listed_ids(service_for(site, heir), "account")


def test_a_deactivated_user_cannot_sign_in_and_their_open_session_ends(app, team_a):
    site = site_of(app)
    admin = admin_of(app)
    signed = signed_in(app, "rep_a")
    bystander = signed_in(app, "rep_b")
    assert signed.get("/app/account/").status_code == 200
    user = OrgService(site, admin.actor).user(team_a["rep_a"])
    OrgService(site, admin.actor).update_user(
        team_a["rep_a"], display_name=user["display_name"], department_id=user["department_id"],
        roles=user["roles"], teams=user["teams"], is_active=False, is_admin=False)
    cut = signed.get("/app/account/")
    assert cut.status_code == 302 and cut.location.startswith("/-/login")
    assert signed.get(f"/app/account/{team_a['mine']['id']}").status_code == 302
    assert signed.post_form(f"/app/account/{team_a['mine']['id']}/delete").status_code in (302, 400)
    assert stored(app, "account", team_a["mine"]["id"])["deleted_at"] is None
    again = Client(app.test_client())
    refused = again.login("rep_a", PASSWORD)
    assert refused.status_code == 401
    assert again.get("/app/account/").status_code == 302
    assert bystander.get("/app/account/").status_code == 200  # only theirs ended
    explained = admin.ownership.explain("account", team_a["mine"]["id"], team_a["rep_a"])
    assert not any(row["allowed"] for row in explained)


def test_a_role_change_applies_on_the_next_request(app, team_a):
    site = site_of(app)
    admin = admin_of(app)
    client = signed_in(app, "rep_a")
    theirs = team_a["theirs"]["id"]
    assert client.get(f"/app/account/{theirs}").status_code == 404
    org = OrgService(site, admin.actor)
    user = org.user(team_a["rep_a"])
    org.update_user(team_a["rep_a"], display_name=user["display_name"], department_id=user["department_id"],
                    roles=["manager"], teams=[], is_active=True, is_admin=False)
    assert client.get(f"/app/account/{theirs}").status_code == 200  # manager: the department tree
    org.update_user(team_a["rep_a"], display_name=user["display_name"], department_id=user["department_id"],
                    roles=["rep"], teams=[], is_active=True, is_admin=False)
    assert client.get(f"/app/account/{theirs}").status_code == 404


# -------------------------------------------------------------------------------- audit
def test_assign_share_unshare_and_role_changes_are_audited(app, team_a):
    site = site_of(app)
    admin = admin_of(app)
    rid = team_a["mine"]["id"]
    admin.ownership.assign("account", [rid], team_a["rep_c"])
    share_id = admin.ownership.share("account", rid, "department", team_a["dept"], "read")
    admin.ownership.unshare("account", rid, share_id)
    org = OrgService(site, admin.actor)
    user = org.user(team_a["rep_a"])
    org.update_user(team_a["rep_a"], display_name=user["display_name"], department_id=user["department_id"],
                    roles=["rep", "viewer"], teams=[], is_active=True, is_admin=False)
    admin_id = admin.actor.id
    rows = {r["action"]: r for r in audit_rows(app)}
    assert rows["assign"]["actor_id"] == admin_id and rows["assign"]["entity"] == "account"
    assert rows["assign"]["record_id"] == rid and rows["assign"]["detail"] == {"records": [rid], "to": team_a["rep_c"]}
    assert rows["share"]["record_id"] == rid and rows["share"]["detail"] == {
        "principal_type": "department", "principal_id": team_a["dept"], "access": "read"}
    assert rows["unshare"]["record_id"] == rid and rows["unshare"]["detail"] == {
        "principal_type": "department", "principal_id": team_a["dept"]}
    change = rows["user.update"]
    assert change["actor_id"] == admin_id and change["record_id"] == team_a["rep_a"]
    assert change["detail"] == {"roles": {"from": ["rep"], "to": ["rep", "viewer"]}}
    # refusals leave no audit row
    counts = trail(app)
    rep = service_for(site, team_a["rep_b"])
    for attempt in (lambda: rep.ownership.assign("account", [rid], team_a["rep_b"]),
                    lambda: rep.ownership.share("account", rid, "user", team_a["rep_b"], "read"),
                    lambda: OrgService(site, rep.actor).update_user(
                        team_a["rep_b"], display_name="x", department_id=None, roles=["editor"], teams=[],
                        is_active=True, is_admin=True)):
        with pytest.raises((Forbidden, NotFound)):
            attempt()
    assert trail(app) == counts


def test_role_audit_lists_only_what_changed(app, team_a):
    """Saving a user with the same roles in another order records no role change."""
    site = site_of(app)
    admin = admin_of(app)
    org = OrgService(site, admin.actor)
    user = org.user(team_a["rep_a"])
    org.update_user(team_a["rep_a"], display_name=user["display_name"], department_id=user["department_id"],
                    roles=["viewer", "rep"], teams=[], is_active=True, is_admin=False)
    first = audit_rows(app, "user.update")[-1]["detail"]
    assert first == {"roles": {"from": ["rep"], "to": ["rep", "viewer"]}}
    org.update_user(team_a["rep_a"], display_name=user["display_name"], department_id=user["department_id"],
                    roles=["rep", "viewer"], teams=[], is_active=True, is_admin=False)
    assert audit_rows(app, "user.update")[-1]["detail"] == {}


def test_assigning_a_record_in_the_recycle_bin_is_not_found(app, team_a):
    site = site_of(app)
    manager = add_user(app, "boss", ["manager"], team_a["dept"])
    svc = service_for(site, manager)
    rid = team_a["mine"]["id"]
    admin_of(app).delete("account", rid)
    counts = trail(app)
    with pytest.raises(NotFound):
        svc.ownership.assign("account", [rid], team_a["rep_b"])
    with pytest.raises(NotFound):  # one missing record refuses the whole batch
        svc.ownership.assign("account", [rid, team_a["theirs"]["id"]], team_a["rep_c"])
    assert trail(app) == counts and stored(app, "account", team_a["theirs"]["id"])["owner"] == team_a["rep_b"]
    assert svc.ownership.assign("account", [team_a["theirs"]["id"]], team_a["rep_c"]) == 1
