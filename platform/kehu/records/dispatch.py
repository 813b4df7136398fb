"""Dispatch: new records go to one user by the assignment rules; the board reassigns them.

An assignment document (``kind: assignment``, see docs/metadata.md) names the user field a
dispatch sets (``engineer``), what counts as open work, and rules tried in order: each has a
``when`` condition, a pool (holders of a role, members of a department or a team, optionally
only those whose attribute — a region, a skill — holds the record's value of a picklist
field) and a strategy:

- ``round_robin``: the pool's members take turns. The cursor (the last user chosen) is a row
  of ``kehu_counter`` per rule (and per matched value), moved under the row's lock inside the
  create transaction — ``UPDATE … RETURNING`` (a row lock on PostgreSQL; SQLite serialises
  write transactions) — so two records created at the same moment never take one turn.
- ``least_loaded``: the member with the fewest open records (ties: the earliest user); the
  same lock serialises dispatches of the rule, so a concurrent one counts the first's record.

It runs in the built-in plugin :class:`DefaultDispatch` on the ``after_record_save`` hook, in
the create's transaction. A record created with the field filled in, or not open, is left as
it is; one that no rule finds anybody for stays unassigned and the assignment's ``notify``
people are told. Whoever a granting user field (``grants``) newly names is notified too
(unless the record is closed work by its assignment's ``open`` states).

Reassigning on the board (:meth:`Dispatch.assign`) is a dedicated action like ownership's
assign: the ``assign`` permission on the record, the approval lock, the row version the board
showed (claimed by ``UPDATE … WHERE row_version = :seen``), history, audit and a notification.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.dialects import postgresql, sqlite

from kehu import expressions
from kehu.errors import Forbidden, NotFound, RecordInvalid
from kehu.hookspecs import hookimpl
from kehu.metadata.model import Assignment, AssignmentRule, Entity
from kehu.records.policy import subtree

BOARD_LIMIT = 200


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


class DefaultDispatch:
    """Built-in plugin: dispatch each new record by its entity's assignment rules, and tell
    users a granting field newly names."""

    @hookimpl
    def after_record_save(self, service, entity, record, created, conn):
        Dispatch(service).after_save(conn, entity, record, created)


class Dispatch:
    def __init__(self, service):
        self.svc = service
        self.site = service.site
        self.meta = service.meta
        self.tables = service.tables
        self.policy = service.policy
        self.actor = service.actor
        self.t = service.t

    # ================================================================ on save
    def after_save(self, c, entity: Entity, record: dict, created: bool) -> None:
        assignment = self.meta.assignment_for(entity.name)
        granting = [f for f in entity.granting_fields() if f.type == "user" and f.get("grants")]
        if assignment is None and not granting:
            return
        table = self.tables[entity.name]
        row = dict(c.execute(sa.select(table).where(table.c.id == record["id"])).mappings().one())
        if created and assignment is not None and row.get(assignment.field) is None and assignment.is_open(row):
            chosen = self._dispatch_new(c, entity, assignment, row)
            for name, value in chosen.items():
                row[name] = value
                if name in record:  # what the actor may see of it
                    record[name] = value
        if created:
            named = {f.name: row.get(f.name) for f in granting if row.get(f.name) is not None}
        else:
            hist = self.tables.history
            changed = c.execute(sa.select(hist.c.field, hist.c.new_value).where(
                hist.c.entity == entity.name, hist.c.record_id == row["id"],
                hist.c.row_version == row["row_version"], hist.c.field.in_([f.name for f in granting]))).all()
            named = {name: row.get(name) for name, new in changed if new is not None and row.get(name) is not None}
        if assignment is not None and not assignment.is_open(row):
            return  # named on closed work (an import, a correction): nothing to do for them
        for name, user_id in named.items():
            if user_id != self.actor.id:
                self._notify_assigned(c, entity, row, entity.field(name), user_id)

    def _dispatch_new(self, c, entity: Entity, assignment: Assignment, row: dict) -> dict:
        """Choose a user for a new record and store it; the values set (empty: nobody)."""
        for rule in assignment.rules:
            if not self._holds(rule, entity, row):
                continue
            candidates = self.pool(c, rule, row)
            if not candidates:
                continue
            user_id = self._choose(c, entity, assignment, rule, candidates, row)
            values = {assignment.field: user_id, **self._set_values(entity, assignment)}
            if assignment.owner:
                values["owner"] = user_id
            table = self.tables[entity.name]
            c.execute(sa.update(table).where(table.c.id == row["id"]).values(**values))
            # on the record's timeline as an automatic change of its first version
            c.execute(sa.insert(self.tables.history), [
                dict(entity=entity.name, record_id=row["id"], row_version=row["row_version"], action="update",
                     field=name, old_value=_text(row.get(name)), new_value=_text(value), user_id=None, at=_now())
                for name, value in values.items() if row.get(name) != value])
            self.site.audit(c, self.actor.id, "dispatch", entity.name, row["id"], {"rule": rule.name, "to": user_id})
            return values
        self._notify_unassigned(c, entity, assignment, row)
        return {}

    def _holds(self, rule: AssignmentRule, entity: Entity, row: dict) -> bool:
        if not rule.when:
            return True
        try:
            return bool(expressions.evaluate(rule.when, self.svc._env(entity.name, row)))
        except expressions.ExpressionError:
            return False  # a rule that cannot tell does not take the record

    def _set_values(self, entity: Entity, assignment: Assignment) -> dict:
        """The assignment's ``set`` values as their columns store them (checked at load)."""
        out = {}
        for name, value in assignment.set.items():
            fld = entity.field(name)
            if value is not None and fld.type not in ("picklist", "text", "textarea", "boolean"):
                try:
                    value = self.svc.types[fld.type].input_field(fld, "en").deserialize(value)
                except ValidationError:
                    continue
            out[name] = value
        return out

    # ------------------------------------------------------------- the pool
    def pool(self, c, rule: AssignmentRule, row: dict | None = None) -> list[int]:
        """Active users in every group the rule names (and, for a record, whose attributes
        match it), by id."""
        users = self.tables.users
        stmt = sa.select(users.c.id).where(users.c.is_active.is_(True))
        if "role" in rule.pool:
            roles = self.tables.user_roles
            stmt = stmt.where(users.c.id.in_(sa.select(roles.c.user_id).where(roles.c.role == rule.pool["role"])))
        if "department" in rule.pool:
            d = self.tables.departments
            parents = dict(c.execute(sa.select(d.c.id, d.c.parent_id)).all())
            root = c.execute(sa.select(d.c.id).where(d.c.code == rule.pool["department"])).scalar()
            stmt = stmt.where(users.c.department_id.in_(sorted(subtree(parents, root))))
        if "team" in rule.pool:
            teams, members = self.tables.teams, self.tables.team_members
            stmt = stmt.where(users.c.id.in_(sa.select(members.c.user_id).join(teams, teams.c.id == members.c.team_id)
                                             .where(teams.c.name == rule.pool["team"])))
        if row is not None:
            attrs = self.tables.user_attribute
            for fname, attribute in rule.match:
                value = row.get(fname)
                if value is None:
                    return []
                stmt = stmt.where(users.c.id.in_(sa.select(attrs.c.user_id).where(
                    attrs.c.attribute == attribute, attrs.c.value == str(value))))
        return [uid for (uid,) in c.execute(stmt.order_by(users.c.id))]

    def _cursor_key(self, assignment: Assignment, rule: AssignmentRule, row: dict) -> str:
        matched = ",".join(str(row.get(fname)) for fname, _a in rule.match)
        key = f"dispatch:{assignment.name}:{rule.name}" + (f":{matched}" if matched else "")
        return key if len(key) <= 120 else key[:100] + ":" + hashlib.sha1(key.encode()).hexdigest()[:19]

    def _choose(self, c, entity: Entity, assignment: Assignment, rule: AssignmentRule, candidates: list[int],
                row: dict) -> int:
        counters = self.tables.counters
        key = self._cursor_key(assignment, rule, row)
        insert = (postgresql.insert if c.dialect.name == "postgresql" else sqlite.insert)(counters)
        c.execute(insert.values(key=key, value=0).on_conflict_do_nothing(index_elements=["key"]))
        # take the cursor's row lock first: dispatches of this rule queue here, each seeing the last one's choice
        last = c.execute(sa.update(counters).where(counters.c.key == key).values(value=counters.c.value)
                         .returning(counters.c.value)).scalar_one()
        if rule.strategy == "least_loaded":
            load = self.open_load(c, entity, assignment, candidates)
            chosen = min(candidates, key=lambda uid: (sum(load.get(uid, {}).values()), uid))
        else:
            chosen = next((uid for uid in candidates if uid > last), candidates[0])
        c.execute(sa.update(counters).where(counters.c.key == key).values(value=chosen))
        return chosen

    def open_load(self, c, entity: Entity, assignment: Assignment, user_ids=None, predicate=None) -> dict[int, dict]:
        """Open records per assignee and open state: {user: {state: count}}."""
        table = self.tables[entity.name]
        field = table.c[assignment.field]
        state = table.c[assignment.open_field] if assignment.open_field else sa.literal(None)
        stmt = (sa.select(field, state, sa.func.count()).where(table.c.deleted_at.is_(None), field.is_not(None))
                .group_by(field, state))
        if assignment.open_field:
            stmt = stmt.where(state.in_(assignment.open_values))
        if user_ids is not None:
            stmt = stmt.where(field.in_(sorted(user_ids)))
        if predicate is not None:
            stmt = stmt.where(predicate)
        out: dict[int, dict] = {}
        for user_id, value, n in c.execute(stmt):
            out.setdefault(user_id, {})[value] = n
        return out

    # -------------------------------------------------------- notifications
    def _notify(self, c, user_ids, kind: str, entity: Entity, record_id: int, en: str, zh: str) -> None:
        rows = [dict(user_id=uid, at=_now(), kind=kind, text_en=en[:400], text_zh=zh[:400], entity=entity.name,
                     record_id=record_id) for uid in dict.fromkeys(user_ids)]
        if rows:
            c.execute(sa.insert(self.tables.notification), rows)

    def _notify_assigned(self, c, entity: Entity, row: dict, fld, user_id: int) -> None:
        title = self.svc.title_of(entity, row)
        self._notify(c, [user_id], "assigned", entity, row["id"],
                     f"{entity.label.en} {title} is yours now ({fld.label.en}).",
                     f"{entity.label.zh} {title} 已指定给您（{fld.label.zh}）。")

    def _notify_unassigned(self, c, entity: Entity, assignment: Assignment, row: dict) -> None:
        users = self.tables.users
        stmt = None
        if "role" in assignment.notify:
            roles = self.tables.user_roles
            stmt = sa.select(users.c.id).where(users.c.id.in_(
                sa.select(roles.c.user_id).where(roles.c.role == assignment.notify["role"])))
        elif "department" in assignment.notify:
            d = self.tables.departments
            stmt = sa.select(users.c.id).where(users.c.id.in_(
                sa.select(d.c.manager_id).where(d.c.code == assignment.notify["department"])))
        if stmt is None:
            return
        targets = [uid for (uid,) in c.execute(stmt.where(users.c.is_active.is_(True)).order_by(users.c.id))]
        title = self.svc.title_of(entity, row)
        self._notify(c, targets, "unassigned", entity, row["id"],
                     f"Nobody to dispatch {entity.label.en.lower()} {title} to: assign it on the dispatch board.",
                     f"{entity.label.zh} {title} 未能自动派工：请在派工台分派。")

    # ================================================================ the board
    def entities(self) -> list[Entity]:
        """Entities with an assignment whose records the actor may assign, in menu order."""
        out = []
        for assignment in self.meta.assignments.values():
            entity = self.meta.entities.get(assignment.entity)
            if entity is not None and self.policy.level(entity.name, "assign") != "none":
                out.append(entity)
        return sorted(out, key=lambda e: (e.nav_order, e.name))

    def _assignment(self, entity_name: str) -> tuple[Entity, Assignment]:
        entity = self.svc.entity(entity_name)
        assignment = self.meta.assignment_for(entity.name)
        if assignment is None:
            raise NotFound(self.t(f"{entity.label.en} records are not dispatched.", f"{entity.label.zh}不使用派工。"))
        return entity, assignment

    def unassigned(self, entity_name: str, columns) -> tuple[list[dict], dict]:
        """Open records without an assignee that the actor may assign: most urgent first, then
        oldest. Returns (rows with ``columns``, labels of their lookups)."""
        entity, assignment = self._assignment(entity_name)
        self.policy.require(entity, "assign")
        table = self.tables[entity.name]
        names = ["id", "row_version"] + [c for c in columns if c in table.c and c not in ("id", "row_version")]
        where = [table.c.deleted_at.is_(None), table.c[assignment.field].is_(None),
                 self.policy.read_predicate(entity, table), self.policy.predicate(entity, table, "assign")]
        if assignment.open_field:
            where.append(table.c[assignment.open_field].in_(assignment.open_values))
        order = []
        if assignment.urgency_field:
            rank = {key: i for i, key in enumerate(assignment.urgency_order)}
            order.append(sa.case(rank, value=table.c[assignment.urgency_field], else_=len(rank)))
        since = table.c[assignment.since] if assignment.since in table.c else table.c.created_at
        order += [since.asc(), table.c.id.asc()]
        stmt = sa.select(*[table.c[n] for n in names]).where(*where).order_by(*order).limit(BOARD_LIMIT)
        with self.site.reading() as c:
            rows = [dict(r) for r in c.execute(stmt).mappings()]
            labels = self.svc.labels_for(entity, rows, names, c)
        return rows, labels

    def people(self, entity_name: str) -> list[dict]:
        """Who the board offers and shows the load of: every rule's pool (without the
        record-specific matching) and whoever holds open records now; each with their open
        records by state (counted among the records the actor may read) and attributes."""
        entity, assignment = self._assignment(entity_name)
        table = self.tables[entity.name]
        users = self.tables.users
        with self.site.reading() as c:
            ids = {uid for rule in assignment.rules for uid in self.pool(c, rule)}
            load = self.open_load(c, entity, assignment, predicate=self.policy.read_predicate(entity, table))
            ids |= set(load)
            rows = c.execute(sa.select(users.c.id, users.c.display_name, users.c.is_active)
                             .where(users.c.id.in_(sorted(ids))).order_by(users.c.display_name, users.c.id)).all()
            attrs = self.attributes([r.id for r in rows], conn=c)
        return [{"id": r.id, "name": r.display_name, "active": bool(r.is_active), "load": load.get(r.id, {}),
                 "total": sum(load.get(r.id, {}).values()), "attributes": attrs.get(r.id, {})} for r in rows]

    def assign(self, entity_name: str, record_id: int, user_id: int, row_version) -> dict:
        """Give a record to ``user_id`` (its assignee field) in one step: the ``assign``
        permission, the approval lock and the row version the board showed are checked before
        anything changes; history, audit and the new assignee's notification follow."""
        entity, assignment = self._assignment(entity_name)
        fld = entity.field(assignment.field)
        with self.site.writing() as c:
            record = self.svc._fetch(entity, record_id, conn=c)  # 404 unless readable
            self.policy.require(entity, "assign", record, conn=c)
            self.svc.refuse_if_locked(entity, record)
            try:
                seen = int(row_version)
            except (TypeError, ValueError):
                raise RecordInvalid({"_record": [self.t("The form is missing its version; reload the page.",
                                                        "表单缺少版本号，请刷新页面。")]}) from None
            users = self.tables.users
            if c.execute(sa.select(users.c.id).where(users.c.id == user_id, users.c.is_active.is_(True))).first() is None:
                raise RecordInvalid({fld.name: [self.t("Choose an active user.", "请选择在职用户。")]})
            if seen != record["row_version"]:
                raise self.svc._conflict(c, entity, record, seen)
            old = record.get(fld.name)
            if old == user_id:
                return self.svc._strip(entity, record)
            values = {fld.name: user_id}
            if assignment.owner:
                values["owner"] = user_id
            if old is None:  # the first dispatch sets what the assignment sets (e.g. status 'assigned')
                values.update(self._set_values(entity, assignment))
            changes = [(name, record.get(name), value) for name, value in values.items() if record.get(name) != value]
            version = self.svc._claim(c, entity, record, values)["row_version"]
            self.svc._history(c, entity, record_id, version, "update", changes)
            self.site.audit(c, self.actor.id, "dispatch", entity.name, record_id, {"from": old, "to": user_id})
            saved = self.svc._fetch(entity, record_id, conn=c)
            if user_id != self.actor.id:
                self._notify_assigned(c, entity, saved, fld, user_id)
            return self.svc._strip(entity, saved)

    # ------------------------------------------------------------ attributes
    def attributes(self, user_ids, conn=None) -> dict[int, dict[str, set[str]]]:
        """Users' attributes (regions, skills): {user: {attribute: values}}."""
        attrs = self.tables.user_attribute
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        out: dict[int, dict[str, set[str]]] = {}
        with self.site.reading(conn) as c:
            for uid, name, value in c.execute(sa.select(attrs.c.user_id, attrs.c.attribute, attrs.c.value)
                                              .where(attrs.c.user_id.in_(wanted))):
                out.setdefault(uid, {}).setdefault(name, set()).add(value)
        return out

    def attribute_choices(self, entity_name: str) -> list[tuple[str, object, list]]:
        """(attribute, the record field it is matched with, its options) of an assignment."""
        entity, assignment = self._assignment(entity_name)
        out = []
        for attribute, fname in assignment.attributes().items():
            fld = entity.field(fname)
            out.append((attribute, fld, self.meta.picklists[fld.picklist].active()))
        return out

    def may_set_attributes(self, user_id: int) -> bool:
        """Administrators, and the managers above a user, keep that user's attributes."""
        if self.policy.is_admin:
            return True
        from kehu.org import OrgService

        return any(u["id"] == user_id for u in OrgService(self.site, self.actor, self.svc.lang).subordinates(self.actor.id))

    def set_attributes(self, entity_name: str, user_id: int, attribute: str, values) -> set[str]:
        """Replace one attribute of a user (e.g. their skills) with ``values``, options of the
        field the assignment's rules match it with; audited."""
        entity, assignment = self._assignment(entity_name)
        fname = assignment.attributes().get(attribute)
        if fname is None:
            raise NotFound(self.t("No such attribute.", "没有这个属性。"))
        if not self.may_set_attributes(user_id):
            raise Forbidden(self.t("Only administrators and their managers can change a user's regions and skills.",
                                   "只有管理员和其上级经理可以修改用户的区域与技能。"))
        keys = self.meta.picklists[entity.field(fname).picklist].keys()
        chosen = {str(v) for v in values}
        if chosen - keys:
            raise RecordInvalid({attribute: [self.t("Choose from the options.", "请从选项中选择。")]})
        attrs = self.tables.user_attribute
        with self.site.writing() as c:
            if c.execute(sa.select(self.tables.users.c.id).where(self.tables.users.c.id == user_id)).first() is None:
                raise NotFound(self.t("No such user.", "没有这个用户。"))
            c.execute(sa.delete(attrs).where(attrs.c.user_id == user_id, attrs.c.attribute == attribute))
            if chosen:
                c.execute(sa.insert(attrs), [{"user_id": user_id, "attribute": attribute, "value": v} for v in sorted(chosen)])
            self.site.audit(c, self.actor.id, "user.attributes", None, None,
                            {"user": user_id, "attribute": attribute, "values": sorted(chosen)})
        return chosen


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)
