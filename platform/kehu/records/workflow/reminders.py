"""Reminders: the manager of an approver whose task is past its step's time limit is told
once per task (``kehu remind`` from cron, and whenever the inbox or workbench opens)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from kehu.records.workflow.common import PENDING, Base, _now


class Reminders(Base):
    def send_reminders(self, now: dt.datetime | None = None) -> int:
        """Tell the manager of each approver whose task is past its step's time limit (once
        per task). Returns how many reminders were sent. Run by ``kehu remind`` (cron) and
        when the workbench or inbox opens."""
        now = now or _now()
        tk, a = self.t.approval_task, self.t.approval
        due = (sa.select(tk.c.id, tk.c.assignee_id, tk.c.step, a.c.id.label("approval_id"), a.c.entity, a.c.record_id)
               .select_from(tk.join(a, a.c.id == tk.c.approval_id))
               .where(tk.c.state == PENDING, a.c.state == PENDING, tk.c.due_at < now, tk.c.reminded_at.is_(None)))
        with self.site.reading() as c:  # the usual case, nothing due, takes no write lock
            if c.execute(due.limit(1)).first() is None:
                return 0
        sent = 0
        with self.site.writing() as c:
            rows = c.execute(due).mappings().all()
            names = dict(c.execute(sa.select(self.t.users.c.id, self.t.users.c.display_name).where(
                self.t.users.c.id.in_({r["assignee_id"] for r in rows}))).all()) if rows else {}
            for r in rows:
                claimed = c.execute(sa.update(tk).where(tk.c.id == r["id"], tk.c.reminded_at.is_(None))
                                    .values(reminded_at=now)).rowcount
                if claimed != 1:  # reminded meanwhile by another request
                    continue
                entity = self.meta.entities.get(r["entity"])
                manager = self._manager_of(c, r["assignee_id"])
                if entity is None or manager is None:
                    continue
                title = self.svc.title_of(entity, self._record(c, entity, r["record_id"]))
                who = names.get(r["assignee_id"], "")
                self._notify(c, manager, "overdue", entity, r["record_id"],
                             f"Overdue approval: {who} has not decided {entity.label.en} {title}",
                             f"审批超时：{who} 尚未审批{entity.label.zh} {title}")
                self._event(c, {"id": r["approval_id"], "entity": r["entity"], "record_id": r["record_id"]},
                            "remind", step=r["step"], target_id=manager)
                sent += 1
        return sent
