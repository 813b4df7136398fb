"""What waits for the actor and what they submitted: the inbox (pending or decided tasks),
the approvals they submitted, and the count of tasks waiting."""

from __future__ import annotations

import sqlalchemy as sa

from kehu.records.workflow.common import PENDING, Base, _definition, _now


class Inbox(Base):
    def inbox(self, *, entity: str | None = None, workflow: str | None = None, overdue_only: bool = False,
              state: str = PENDING, limit: int = 200) -> list[dict]:
        """Tasks assigned to the actor (pending by default; ``state='decided'`` for the ones
        they decided), newest first, each with its approval and the record's title."""
        tk, a, users = self.t.approval_task, self.t.approval, self.t.users
        stmt = (sa.select(tk, a.c.workflow, a.c.entity, a.c.record_id, a.c.submitted_by, a.c.submitted_at,
                          a.c.state.label("approval_state"), a.c.version_id, users.c.display_name.label("submitter_name"))
                .select_from(tk.join(a, a.c.id == tk.c.approval_id).outerjoin(users, users.c.id == a.c.submitted_by))
                .where(tk.c.assignee_id == self.actor.id))
        if state == PENDING:
            stmt = stmt.where(tk.c.state == PENDING, a.c.state == PENDING).order_by(tk.c.created_at, tk.c.id)
        else:
            stmt = stmt.where(tk.c.state.in_(("approved", "rejected"))).order_by(tk.c.decided_at.desc(), tk.c.id.desc())
        if entity:
            stmt = stmt.where(a.c.entity == entity)
        if workflow:
            stmt = stmt.where(a.c.workflow == workflow)
        if overdue_only:
            stmt = stmt.where(tk.c.due_at < _now())
        return self._with_titles(stmt.limit(limit))

    def submitted(self, *, state: str | None = None, limit: int = 200) -> list[dict]:
        """Approvals the actor submitted, newest first."""
        a = self.t.approval
        stmt = sa.select(a, a.c.state.label("approval_state")).where(a.c.submitted_by == self.actor.id)
        if state:
            stmt = stmt.where(a.c.state == state)
        return self._with_titles(stmt.order_by(a.c.id.desc()).limit(limit))

    def _with_titles(self, stmt) -> list[dict]:
        now = _now()
        with self.site.reading() as c:
            rows = [dict(r) for r in c.execute(stmt).mappings()]
            by_entity: dict[str, set[int]] = {}
            for r in rows:
                by_entity.setdefault(r["entity"], set()).add(r["record_id"])
            # only records the actor can still read are named (approvers hold a read share)
            titles = {(name, rid): text for name, ids in by_entity.items() if name in self.meta.entities
                      for rid, text in self.svc.visible_titles(name, ids).items()}
            v = self.t.workflow_version
            version_ids = {r["version_id"] for r in rows}
            versions = {vid: _definition(text) for vid, text in c.execute(
                sa.select(v.c.id, v.c.definition).where(v.c.id.in_(version_ids)))} if version_ids else {}
            for r in rows:
                wf = versions[r["version_id"]]
                r["workflow_label"] = wf.label
                step = next((s for s in wf.steps if s.name == r.get("step")), None)
                r["step_label"] = step.label if step else None
                r["title"] = titles.get((r["entity"], r["record_id"]), f"#{r['record_id']}")
                r["overdue"] = r.get("state") == PENDING and r.get("due_at") is not None and r["due_at"] < now
        return rows

    def pending_count(self) -> int:
        tk, a = self.t.approval_task, self.t.approval
        with self.site.reading() as c:
            return c.execute(sa.select(sa.func.count()).select_from(tk.join(a, a.c.id == tk.c.approval_id))
                             .where(tk.c.assignee_id == self.actor.id, tk.c.state == PENDING,
                                    a.c.state == PENDING)).scalar_one()
