"""Who approves a step: the approver rules (role, manager, manager chain, a user field,
named users, a department's manager), active users only, each once, with today's
delegations applied (one level, so approvals never travel in a circle)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from kehu.metadata.model import Entity, Step
from kehu.records.workflow.common import Base


class Approvers(Base):
    def _resolve(self, c, step: Step, entity: Entity, record: dict, submitter: int) -> list[tuple[int, int | None]]:
        """The step's approvers as (assignee, on behalf of): active users, each once, with
        today's delegations applied."""
        found: list[int] = []
        for rule in step.approvers:
            found.extend(self._rule_users(c, rule.kind, rule.value, entity, record, submitter))
        users = self.t.users
        unique = list(dict.fromkeys(found))
        active = set(c.execute(sa.select(users.c.id).where(users.c.id.in_(unique), users.c.is_active.is_(True))).scalars()) if unique else set()
        delegates = self._delegates(c, [u for u in unique if u in active])
        out: list[tuple[int, int | None]] = []
        seen: set[int] = set()
        for uid in unique:
            if uid not in active:
                continue
            assignee, behalf = (delegates[uid], uid) if uid in delegates else (uid, None)
            if assignee not in seen:
                seen.add(assignee)
                out.append((assignee, behalf))
        return out

    def _rule_users(self, c, kind: str, value, entity: Entity, record: dict, submitter: int) -> list[int]:
        users, roles, depts = self.t.users, self.t.user_roles, self.t.departments
        if kind == "role":
            return list(c.execute(sa.select(roles.c.user_id).where(roles.c.role == value).order_by(roles.c.user_id)).scalars())
        if kind == "users":
            by_name = dict(c.execute(sa.select(users.c.username, users.c.id).where(users.c.username.in_(list(value)))).all())
            return [by_name[n] for n in value if n in by_name]
        if kind == "field":
            uid = record.get(value)
            return [uid] if isinstance(uid, int) else []
        if kind == "manager":
            person = submitter if value == "submitter" else record.get("owner")
            manager = self._manager_of(c, person)
            return [manager] if manager else []
        if kind == "manager_chain":
            chain, person = [], submitter
            for _ in range(int(value)):
                person = self._manager_of(c, person)
                if person is None or person in chain:
                    break
                chain.append(person)
            return chain
        if kind in ("department", "department_field"):
            code = value if kind == "department" else record.get(value)
            if not code:
                return []
            manager = c.execute(sa.select(depts.c.manager_id).where(depts.c.code == str(code))).scalar()
            return [manager] if manager else []
        return []

    def _manager_of(self, c, user_id: int | None) -> int | None:
        """The manager of the user's department; for its own manager, the next one up."""
        if user_id is None:
            return None
        users, depts = self.t.users, self.t.departments
        dept = c.execute(sa.select(users.c.department_id).where(users.c.id == user_id)).scalar()
        seen = set()
        while dept is not None and dept not in seen:
            seen.add(dept)
            manager, parent = c.execute(sa.select(depts.c.manager_id, depts.c.parent_id).where(depts.c.id == dept)).one()
            if manager is not None and manager != user_id:
                return manager
            dept = parent
        return None

    def _admins(self, c) -> list[int]:
        users = self.t.users
        return list(c.execute(sa.select(users.c.id).where(users.c.is_admin.is_(True), users.c.is_active.is_(True))
                              .order_by(users.c.id)).scalars())

    def _delegates(self, c, user_ids: list[int]) -> dict[int, int]:
        """Today's delegate of each user who has one (the latest delegation wins; a delegate's
        own delegation is not followed, so approvals never travel in a circle)."""
        if not user_ids:
            return {}
        d, users = self.t.delegation, self.t.users
        today = dt.date.today()
        rows = c.execute(sa.select(d.c.user_id, d.c.delegate_id)
                         .select_from(d.join(users, users.c.id == d.c.delegate_id))
                         .where(d.c.user_id.in_(user_ids), d.c.starts_on <= today, d.c.ends_on >= today,
                                users.c.is_active.is_(True))
                         .order_by(d.c.id)).all()
        return {uid: delegate for uid, delegate in rows}
