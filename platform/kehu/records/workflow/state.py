"""A record's approval as it stands: which workflow a submit would start, whether the actor
may submit, the latest approval with its tasks, the actor's own task, and the history."""

from __future__ import annotations

import sqlalchemy as sa

from kehu import expressions
from kehu.metadata.model import Workflow
from kehu.records.workflow.common import PENDING, Base, Task


class State(Base):
    def workflow_for(self, entity_name: str, record: dict) -> Workflow | None:
        """The workflow a submit would start for ``record`` (the first whose entry holds)."""
        for wf in self.meta.workflows_of(entity_name):
            if self._holds(wf.entry, entity_name, record):
                return wf
        return None

    def _holds(self, condition: str | None, entity_name: str, record: dict, on_error: bool = False) -> bool:
        """Whether ``condition`` holds for the record; ``on_error`` when it cannot be
        evaluated (``amount > 1000`` with no amount): an entry condition then does not hold,
        a step's condition does (an unclear case gets approval rather than skipping it)."""
        if not condition:
            return True
        try:
            return bool(expressions.evaluate(condition, self.svc._env(entity_name, record)))
        except expressions.ExpressionError:
            return on_error

    def can_submit(self, entity_name: str, record: dict) -> Workflow | None:
        """The workflow the actor could submit ``record`` to now, else None. A record that
        was approved and has not changed since is not offered again."""
        if record.get("workflow_state") == PENDING or record.get("id") is None:
            return None
        entity = self.meta.entity(entity_name)
        if not self.svc.policy.can(entity, "write", record):
            return None
        full = self.svc._fetch(entity, record["id"])  # conditions may read fields hidden from the actor
        workflow = self.workflow_for(entity_name, full)
        if workflow is not None and full.get("workflow_state") == "approved":
            with self.site.reading() as c:
                last = self._last_approved(c, entity_name, record["id"])
            if last is not None and last["record_version"] == full["row_version"]:
                return None
        return workflow

    def _last_approved(self, c, entity_name: str, record_id: int):
        """The record's latest approved approval (a row mapping), or None."""
        a = self.t.approval
        return c.execute(sa.select(a).where(a.c.entity == entity_name, a.c.record_id == record_id,
                                            a.c.state == "approved").order_by(a.c.id.desc()).limit(1)).mappings().first()

    def current(self, entity_name: str, record_id: int, conn=None) -> dict | None:
        """The record's latest approval with its workflow version and tasks (or None)."""
        a = self.t.approval
        with self.site.reading(conn) as c:
            row = c.execute(sa.select(a).where(a.c.entity == entity_name, a.c.record_id == record_id)
                            .order_by(a.c.id.desc()).limit(1)).mappings().first()
            if row is None:
                return None
            return self._describe(c, dict(row))

    def _describe(self, c, approval: dict) -> dict:
        approval["workflow_def"] = self._version(c, approval["version_id"])
        approval["tasks"] = self._tasks(c, approval["id"])
        steps = approval["workflow_def"].steps
        no = approval["step_no"]
        approval["current_step"] = steps[no] if approval["state"] == PENDING and no is not None and no < len(steps) else None
        people = {approval["submitted_by"]} | {t.assignee_id for t in approval["tasks"]}
        people |= {t.on_behalf_of for t in approval["tasks"] if t.on_behalf_of}
        users = self.t.users
        approval["names"] = dict(c.execute(sa.select(users.c.id, users.c.display_name).where(users.c.id.in_(people))).all())
        return approval

    def locate(self, *, task_id: int | None = None, approval_id: int | None = None) -> tuple[str, int]:
        """(entity, record id) of a task's or an approval's record, for answering a request
        about it: "no such approval" unless the actor can read the record (whether they may
        act on it is checked by the action itself)."""
        tk, a = self.t.approval_task, self.t.approval
        stmt = sa.select(a.c.entity, a.c.record_id)
        stmt = (stmt.select_from(tk.join(a, a.c.id == tk.c.approval_id)).where(tk.c.id == task_id)
                if task_id is not None else stmt.where(a.c.id == approval_id))
        with self.site.reading() as c:
            row = c.execute(stmt).first()
            if row is None or not self._readable(c, row.entity, row.record_id):
                raise self._no_such()
        return row.entity, row.record_id

    def my_task(self, approval: dict | None) -> Task | None:
        """The actor's pending task on the approval's current step, if any."""
        if not approval or approval["state"] != PENDING or self.actor.id is None:
            return None
        return next((t for t in approval["tasks"] if t.state == PENDING and t.assignee_id == self.actor.id
                     and t.step_no == approval["step_no"]), None)

    def events(self, entity_name: str, record_id: int) -> list[dict]:
        """The approval history of a record, oldest first (for the record's timeline)."""
        ev, users = self.t.approval_event, self.t.users
        actor, target, behalf = users.alias("actor"), users.alias("target"), users.alias("behalf")
        stmt = (sa.select(ev, actor.c.display_name.label("actor_name"), target.c.display_name.label("target_name"),
                          behalf.c.display_name.label("behalf_name"))
                .select_from(ev.outerjoin(actor, actor.c.id == ev.c.actor_id)
                             .outerjoin(target, target.c.id == ev.c.target_id)
                             .outerjoin(behalf, behalf.c.id == ev.c.on_behalf_of))
                .where(ev.c.entity == entity_name, ev.c.record_id == record_id).order_by(ev.c.id))
        with self.site.reading() as c:
            return [dict(r) for r in c.execute(stmt).mappings()]
