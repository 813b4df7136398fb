"""The permission policy: the single gate the record service asks before any read or write.

Roles (metadata ``kind: role``) grant each action on each entity at a level: ``none``,
``own`` (the actor owns the record), ``department`` (the owner is in the actor's
department), ``department_tree`` (the owner is in the actor's department or one below it)
or ``all``. A user with several roles gets the widest level of each. Records can also be
shared with a user, a team or a department, for reading or for writing.

Fields can grant access too: a user field declared with ``grants: [read, write]`` lets the
user it names (the assigned engineer) read and work the record without owning it, and a
department field with ``grants_manager`` does the same for that department's manager. The
lines of a line entity follow their parent: whoever may read (write) the parent may read
(write) its lines.

Everything compiles to SQL: :meth:`Policy.predicate` returns a condition over the entity's
table (owner ids as bound parameters, ``engineer = :me`` for granting fields, shares as a
sub-select), so lists, counts, search, lookups, related lists and exports filter in the
database. Checks on one record run the
same predicate with ``id = :id``, so a page and a list can never disagree. Fail closed: no
roles, an unknown entity or an empty set of owners matches nothing.

Field access is the most open access any of the actor's roles that grant something on the
entity gives: a field is hidden only when every such role hides it (a role that does not
mention a field leaves it editable). A formula that reads a hidden field is hidden too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sqlalchemy as sa

from kehu import expressions
from kehu.errors import Forbidden
from kehu.fields.base import tr

LEVELS = ("none", "own", "department", "department_tree", "all")
FIELD_ACCESS = ("hidden", "read_only", "editable")
SHARE_ACTIONS = {"read": ("read", "write"), "write": ("write",)}


@dataclass(frozen=True)
class Grants:
    """Who the actor is in the organisation, read once per policy (that is, per request)."""

    roles: tuple[str, ...]
    department_id: int | None
    team_ids: tuple[int, ...]
    managed_codes: tuple[str, ...] = ()  # codes of the departments they manage (grants_manager)


def subtree(parents: dict[int, int | None], root: int | None) -> set[int]:
    """``root`` and every department below it, given each department's parent."""
    if root is None:
        return set()
    children: dict[int | None, list[int]] = {}
    for dept, parent in parents.items():
        children.setdefault(parent, []).append(dept)
    found, todo = set(), [root]
    while todo:
        current = todo.pop()
        if current in found:
            continue  # a cycle in bad data must not loop forever
        found.add(current)
        todo.extend(children.get(current, []))
    return found


class Policy:
    def __init__(self, site, actor):
        self.site = site
        self.actor = actor

    # ----------------------------------------------------------- grants
    @property
    def is_admin(self) -> bool:
        return bool(self.actor is not None and self.actor.is_admin)

    @cached_property
    def grants(self) -> Grants:
        return self._read_org()[0]

    @cached_property
    def members(self) -> dict[int, set[int]]:
        """Users by department (for the department levels)."""
        return self._read_org()[2]

    @cached_property
    def departments(self) -> dict[int, int | None]:
        """Every department's parent (for the department_tree level)."""
        return self._read_org()[1]

    @cached_property
    def _org(self):
        """The actor's roles, teams and department, and (only when one of their roles grants a
        department level) the department tree and who sits where: one connection, read once."""
        tables = self.site.tables
        if self.actor is None or self.actor.id is None:
            return Grants((), None, ()), {}, {}
        roles, teams, users, d = tables.user_roles, tables.team_members, tables.users, tables.departments
        uid = self.actor.id
        with self.site.reading() as conn:
            rows = conn.execute(sa.union_all(
                sa.select(sa.literal("role").label("kind"), roles.c.role.label("value"), sa.null().label("n"))
                .where(roles.c.user_id == uid),
                sa.select(sa.literal("team"), sa.null(), teams.c.team_id).where(teams.c.user_id == uid),
                sa.select(sa.literal("dept"), sa.null(), users.c.department_id).where(users.c.id == uid),
                sa.select(sa.literal("manages"), d.c.code, sa.null()).where(d.c.manager_id == uid, d.c.code.is_not(None)),
            )).all()
            grants = Grants(
                roles=tuple(v for kind, v, _ in rows if kind == "role"),
                department_id=next((n for kind, _, n in rows if kind == "dept"), None),
                team_ids=tuple(n for kind, _, n in rows if kind == "team"),
                managed_codes=tuple(sorted(v for kind, v, _ in rows if kind == "manages")),
            )
            parents: dict[int, int | None] = {}
            members: dict[int, set[int]] = {}
            if grants.department_id is not None and self._uses_department_levels(grants.roles):
                parents = dict(conn.execute(sa.select(d.c.id, d.c.parent_id)).all())
                for user_id, dept in conn.execute(sa.select(users.c.id, users.c.department_id)
                                                  .where(users.c.department_id.is_not(None))):
                    members.setdefault(dept, set()).add(user_id)
        return grants, parents, members

    def _read_org(self):
        return self._org

    def _uses_department_levels(self, role_names) -> bool:
        for name in role_names:
            role = self.site.metadata.roles.get(name)
            if role and any(level in ("department", "department_tree")
                            for perms in role.permissions.values() for level in perms.values()):
                return True
        return False

    def level(self, entity_name: str, action: str) -> str:
        """The widest level any of the actor's roles grants for ``action`` on the entity."""
        if self.actor is None:
            return "none"
        if self.is_admin:
            return "all"
        best = 0
        for role_name in self.grants.roles:
            role = self.site.metadata.roles.get(role_name)
            if role is None:
                continue
            # a role's entry for the entity decides (an action it leaves out is 'none');
            # the '*' entry covers only the entities the role does not name
            perms = role.permissions.get(entity_name, role.permissions.get("*", {}))
            best = max(best, LEVELS.index(perms.get(action, "none")))
        return LEVELS[best]

    @cached_property
    def _owners_cache(self) -> dict[str, frozenset[int]]:
        return {}

    def owner_ids(self, level: str) -> frozenset[int] | None:
        """Users whose records a level reaches; None means everyone (level 'all')."""
        if level == "all":
            return None
        if level in self._owners_cache:
            return self._owners_cache[level]
        if level == "own" and self.actor is not None and self.actor.id is not None:
            ids = frozenset({self.actor.id})
        elif level in ("department", "department_tree") and self.grants.department_id is not None:
            depts = ({self.grants.department_id} if level == "department"
                     else subtree(self.departments, self.grants.department_id))
            ids = frozenset({self.actor.id}.union(*(self.members.get(dept, ()) for dept in depts)))
        elif level in ("department", "department_tree") and self.actor is not None and self.actor.id is not None:
            # a wider level never gives less than 'own': someone not (yet) placed in a
            # department still reaches their own records (else a create could not read back)
            ids = frozenset({self.actor.id})
        else:
            ids = frozenset()
        self._owners_cache[level] = ids
        return ids

    # ------------------------------------------------------- predicates
    def predicate(self, entity, table: sa.Table, action: str = "read", _depth: int = 0):
        """An SQL condition selecting the rows of ``table`` the actor may ``action``:
        ``owner IN (…) OR engineer = :me OR id IN (shares…)`` (each part only where it applies)."""
        if self.actor is None:
            return sa.false()
        if self.is_admin:
            return sa.true()
        level = self.level(entity.name, action)
        owners = self.owner_ids(level)
        if owners is None:
            return sa.true()
        reached = [table.c.owner.in_(sorted(owners))] if owners else []
        reached += self.granted(entity, table, action, level)
        if action in SHARE_ACTIONS:
            reached.append(table.c.id.in_(self.shared_ids(entity.name, action)))
        parent = self.through_parent(entity, table, action, _depth)
        if parent is not None:
            reached.append(parent)
        return sa.or_(*reached) if reached else sa.false()

    def granted(self, entity, table: sa.Table, action: str, level: str | None = None) -> list:
        """Conditions for the records the entity's granting fields open to the actor: a user
        field with ``grants`` naming them, a department field with ``grants_manager`` naming a
        department they manage. Fields grant read and write; an export reaches what they may
        read that way when their roles let them export at all."""
        if self.actor is None or self.actor.id is None:
            return []
        if action == "export":
            if (level or self.level(entity.name, action)) == "none":
                return []
            action = "read"
        if action not in SHARE_ACTIONS:
            return []
        out = []
        for fld in entity.granting_fields():
            if fld.name not in table.c:
                continue
            if fld.grants(action):
                out.append(table.c[fld.name] == self.actor.id)
            if fld.grants(action, "grants_manager") and self.grants.managed_codes:
                out.append(table.c[fld.name].in_(self.grants.managed_codes))
        return out

    def through_parent(self, entity, table: sa.Table, action: str, _depth: int = 0):
        """Lines follow their parent: ``link IN (parents the actor may read / write)``, or
        None for a top-level entity (and for actions other than read and write)."""
        if not entity.child_of or action not in SHARE_ACTIONS or _depth > 3:
            return None
        meta = self.site.metadata
        parent = meta.entities.get(entity.child_of)
        link = next((f.get("link_field") for f in (parent.child_tables() if parent else ())
                     if f.target == entity.name), None)
        if parent is None or link is None or link not in table.c:
            return None
        if self.owner_ids(self.level(parent.name, action)) is None:
            return sa.true()  # every parent: every line
        ptable = self.site.tables[parent.name]
        return table.c[link].in_(sa.select(ptable.c.id).where(
            ptable.c.deleted_at.is_(None), self.predicate(parent, ptable, action, _depth + 1)))

    def read_predicate(self, entity, table: sa.Table):
        return self.predicate(entity, table, "read")

    def shared_ids(self, entity_name: str, action: str):
        """A sub-select of the record ids shared with the actor for ``action``."""
        shares = self.site.tables.shares
        return sa.select(shares.c.record_id).where(self.share_condition(entity_name, action))

    def share_condition(self, entity_name: str, action: str):
        """Shares of the entity that reach the actor (as user, team member or department) for ``action``."""
        shares = self.site.tables.shares
        principals = [sa.and_(shares.c.principal_type == "user", shares.c.principal_id == self.actor.id)]
        if self.grants.team_ids:
            principals.append(sa.and_(shares.c.principal_type == "team", shares.c.principal_id.in_(self.grants.team_ids)))
        if self.grants.department_id is not None:
            principals.append(sa.and_(shares.c.principal_type == "department",
                                      shares.c.principal_id == self.grants.department_id))
        return sa.and_(shares.c.entity == entity_name, shares.c.access.in_(SHARE_ACTIONS[action]), sa.or_(*principals))

    # ------------------------------------------------------------ checks
    def can(self, entity, action: str, record: dict | None = None, conn=None) -> bool:
        """Whether the actor may ``action``; on a record, by the same SQL as the lists."""
        if self.actor is None:
            return False
        if record is None or record.get("id") is None:
            return self.level(entity.name, action) != "none"
        table = self.site.tables[entity.name]
        stmt = sa.select(table.c.id).where(table.c.id == record["id"], self.predicate(entity, table, action))
        with self.site.reading(conn) as c:
            return c.execute(stmt).first() is not None

    def require(self, entity, action: str, record: dict | None = None, conn=None) -> None:
        if not self.can(entity, action, record, conn):
            lang = getattr(self.actor, "locale", "zh")
            label = entity.label.get(lang)
            raise Forbidden(tr(lang, f"You are not allowed to {action} this {label.lower()}.",
                               f"您无权对此{label}执行“{ACTION_LABELS_ZH.get(action, action)}”操作。"))

    # ------------------------------------------------------------ fields
    def _field_roles(self, entity) -> list:
        """The roles whose field rules count for the entity: those that grant some action on
        it (for line entities, on it or on the parent). A role that grants nothing on an
        entity must not open its fields: adding a product role to a rep must not make the
        credit limit of the rep's customers editable. When no role grants anything (a record
        reached only through a share) every role counts, as before."""
        roles = [r for r in (self.site.metadata.roles.get(n) for n in self.grants.roles) if r is not None]

        def grants_on(role, name) -> bool:
            perms = role.permissions.get(name, role.permissions.get("*", {}))
            return any(level != "none" for level in perms.values())

        applying = [r for r in roles if grants_on(r, entity.name) or (entity.child_of and grants_on(r, entity.child_of))]
        return applying or roles

    def _declared_access(self, entity, field_name: str) -> str:
        if not self.grants.roles:
            # no role restricts anything: what reaches such a user (a share, an approval task)
            # is seen whole; what they may do with it is still the share's read or write
            return "editable"
        best = -1
        for role in self._field_roles(entity):
            access = (role.field_access.get(entity.name) or {}).get(field_name, "editable")
            best = max(best, FIELD_ACCESS.index(access))
        return FIELD_ACCESS[best] if best >= 0 else "hidden"

    def field_access(self, entity, field_name: str) -> str:
        if self.is_admin:
            return "editable"
        if self.actor is None:
            return "hidden"
        if field_name in self.hidden_fields(entity):
            return "hidden"
        return self._declared_access(entity, field_name)

    def can_read_field(self, entity, field_name: str) -> bool:
        return self.field_access(entity, field_name) != "hidden"

    def can_edit_field(self, entity, field_name: str) -> bool:
        return self.field_access(entity, field_name) == "editable"

    def hidden_fields(self, entity) -> frozenset[str]:
        """Fields the actor cannot see: those their roles hide, and the formulas that read
        one of them (``revenue * 2`` would otherwise give a hidden revenue away)."""
        cache = self.__dict__.setdefault("_hidden", {})
        if entity.name not in cache:
            if self.is_admin:
                cache[entity.name] = frozenset()
            elif self.actor is None:
                cache[entity.name] = frozenset(entity.fields)
            else:
                hidden = {name for name in entity.fields if self._declared_access(entity, name) == "hidden"}
                formulas = {f.name: f.get("expression") for f in entity.fields.values() if f.type == "formula"}
                grew = bool(hidden)
                while grew:  # formulas may read formulas
                    grew = False
                    for name, source in formulas.items():
                        if name not in hidden and _reads(source, entity) & hidden:
                            hidden.add(name)
                            grew = True
                cache[entity.name] = frozenset(hidden)
        return cache[entity.name]


def _reads(source, entity) -> set[str]:
    """The fields an expression reads; all of them when it cannot be parsed (fail closed)."""
    try:
        return expressions.names(source or "")
    except expressions.ExpressionError:
        return set(entity.fields)


ACTION_LABELS_ZH = {
    "create": "新建", "read": "查看", "write": "修改", "delete": "删除", "export": "导出",
    "import": "导入", "assign": "分配", "share": "共享",
}


def allowed_actions(policy: Policy, entity, actions, ids, conn=None) -> dict[int, frozenset[str]]:
    """For each of ``ids``: the ``actions`` the actor may take on that record, found in one
    query (a CASE column per action over the same predicates the lists use), so a page's
    buttons cost one query however many rows or actions it shows. Ids that do not exist are
    absent; deleted records are included (restoring one is a delete-level action)."""
    wanted = sorted({i for i in ids if isinstance(i, int) and not isinstance(i, bool)})
    actions = tuple(dict.fromkeys(actions))
    if not wanted or not actions or policy.actor is None:
        return {}
    table = policy.site.tables[entity.name]
    columns = [sa.case((policy.predicate(entity, table, action), sa.true()), else_=sa.false()).label(f"a{i}")
               for i, action in enumerate(actions)]
    stmt = sa.select(table.c.id, *columns).where(table.c.id.in_(wanted))
    with policy.site.reading(conn) as c:
        return {row[0]: frozenset(a for a, ok in zip(actions, row[1:]) if ok) for row in c.execute(stmt)}
