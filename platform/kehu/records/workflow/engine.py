"""The engine: submit, decide (approve, reject), recall, reassign; advance to the next step
that applies and finish; the field values a workflow sets; voiding an approval that an
edit made untrue.

Concurrency: every decision first bumps ``kehu_approval.turn`` *where the step is still the
one the task belongs to*. On PostgreSQL that takes the approval's row lock, so a second
decision waits, then finds the step moved on (0 rows) and is refused; on SQLite writes are
serialised by ``BEGIN IMMEDIATE``. Either way one decision completes a step, never two.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from kehu import expressions
from kehu.errors import Forbidden, NotFound, RecordInvalid, WorkflowError
from kehu.metadata.model import Entity, Workflow
from kehu.records.workflow.common import PENDING, Base, _clean, _digest, _now, _typed


class Engine(Base):
    def void_if_changed(self, c, entity: Entity, existing: dict, changed: set[str]) -> dict:
        """Column values to add to an edit of an approved record that changes what its
        workflow's conditions read (a quote's discount, say): the approval no longer holds,
        so the record takes the workflow's ``on_reject`` values (for the fields the edit
        does not set itself) and must be submitted again. Fields the workflow sets itself
        (a status it moves along) never void it."""
        if existing.get("workflow_state") != "approved" or not changed:
            return {}
        approval = self._last_approved(c, entity.name, existing["id"])
        if approval is None:
            return {}
        workflow = self._version(c, approval["version_id"])
        sets = set(workflow.on_submit) | set(workflow.on_approve) | set(workflow.on_reject) | set(workflow.on_recall)
        sets |= {name for step in workflow.steps for name in step.on_approve}
        read: set[str] = set()
        for source in [workflow.entry] + [step.when for step in workflow.steps]:
            if source:
                read |= expressions.names(source)
        hit = sorted((read - sets) & changed)
        if not hit:
            return {}
        labels = [entity.fields[n].label.get(self.svc.lang) if n in entity.fields else n for n in hit]
        self._event(c, dict(approval), "void", comment=", ".join(labels))
        out = {name: value for name, value in workflow.on_reject.items() if name not in changed}
        out["workflow_state"] = None
        return out


    # ================================================================ submit
    def submit(self, entity_name: str, record_id: int, comment: str | None = None) -> dict:
        """Start the record's workflow. Refused when it is pending already, when no
        workflow's entry condition holds, or when a step would have no approver."""
        entity = self.svc.entity(entity_name)
        with self.site.writing() as c:
            record = self.svc._fetch(entity, record_id, conn=c)
            self.svc.policy.require(entity, "write", record, conn=c)
            if record.get("workflow_state") == PENDING:
                raise WorkflowError(self._("This record is already waiting for approval.", "此记录已在审批中。"))
            workflow = self.workflow_for(entity.name, record)
            if workflow is None:
                raise WorkflowError(self._(
                    f"No approval applies to this {entity.label.en.lower()} as it is now.",
                    f"此{entity.label.zh}当前不满足任何审批流程的提交条件。"))
            # claim the record: a second submit or an edit racing with this one finds the state
            # or the row version changed (PostgreSQL: it waits for the row lock, then sees it)
            table = self.t[entity.name]
            claimed = c.execute(sa.update(table).where(
                table.c.id == record_id, table.c.row_version == record["row_version"],
                sa.or_(table.c.workflow_state.is_(None), table.c.workflow_state != PENDING),
            ).values(workflow_state=PENDING, row_version=record["row_version"] + 1)).rowcount
            if claimed != 1:
                raise WorkflowError(self._("This record changed or was submitted a moment ago. Reload and try again.",
                                           "此记录刚刚被修改或已被提交，请刷新后重试。"))
            record = self._apply(c, entity, dict(record, row_version=record["row_version"] + 1), workflow.on_submit)
            # every step that applies must find someone, or nothing is submitted
            for step in workflow.steps:
                if self._holds(step.when, entity.name, record, on_error=True) and not self._resolve(c, step, entity, record, self.actor.id):
                    raise WorkflowError(self._(
                        f"Step '{step.label.en}' has no approver ({'; '.join(r.describe('en', self.meta.roles) for r in step.approvers)}). Ask an administrator to fix the organisation.",
                        f"步骤“{step.label.zh}”找不到审批人（{'；'.join(r.describe('zh', self.meta.roles) for r in step.approvers)}）。请联系管理员完善组织架构。"))
            version_id = self._version_id(c, workflow)
            now = _now()
            a = self.t.approval
            approval_id = c.execute(sa.insert(a).values(
                workflow=workflow.name, version_id=version_id, entity=entity.name, record_id=record_id,
                state=PENDING, step_no=None, submitted_by=self.actor.id, submitted_at=now, turn=0,
            ).returning(a.c.id)).scalar_one()
            approval = {"id": approval_id, "entity": entity.name, "record_id": record_id, "submitted_by": self.actor.id,
                        "workflow": workflow.name}
            self._event(c, approval, "submit", comment=_clean(comment))
            self._advance(c, approval, workflow, entity, record, start=0)
        return self.current(entity.name, record_id)

    def _version_id(self, c, workflow: Workflow) -> int:
        v = self.t.workflow_version
        digest, text = _digest(workflow)
        stored = sa.select(v.c.id).where(v.c.workflow == workflow.name, v.c.digest == digest)
        found = c.execute(stored).scalar()
        if found is not None:
            return found
        try:  # two first submits of a new version at once: the second finds the first's row
            with c.begin_nested():
                return c.execute(sa.insert(v).values(workflow=workflow.name, digest=digest, definition=text,
                                                     created_at=_now()).returning(v.c.id)).scalar_one()
        except sa.exc.IntegrityError:
            return c.execute(stored).scalar_one()

    # ================================================================ decide
    def approve(self, task_id: int, comment: str | None = None) -> dict:
        return self._decide(task_id, "approved", comment)

    def reject(self, task_id: int, comment: str | None) -> dict:
        if not (comment or "").strip():
            raise RecordInvalid({"comment": [self._("Say why you reject it.", "请填写驳回理由。")]})
        return self._decide(task_id, "rejected", comment)

    def _decide(self, task_id: int, decision: str, comment: str | None) -> dict:
        comment = _clean(comment)
        tk, a = self.t.approval_task, self.t.approval
        with self.site.writing() as c:
            task = c.execute(sa.select(tk).where(tk.c.id == task_id)).mappings().first()
            if task is None or task["assignee_id"] != self.actor.id:
                raise NotFound(self._("There is no such approval waiting for you.", "没有等待您处理的此项审批。"))
            # the turn: take the approval's row (queueing concurrent deciders) only while the
            # task's step is still the current one; then read the task again, after the queue
            moved = c.execute(sa.update(a).where(
                a.c.id == task["approval_id"], a.c.state == PENDING, a.c.step_no == task["step_no"],
            ).values(turn=a.c.turn + 1)).rowcount
            task = c.execute(sa.select(tk).where(tk.c.id == task_id)).mappings().one()
            if task["assignee_id"] != self.actor.id:
                raise NotFound(self._("There is no such approval waiting for you.", "没有等待您处理的此项审批。"))
            if moved != 1 or task["state"] != PENDING:
                raise WorkflowError(self._(
                    "This step has already been decided or the approval has moved on; your decision was not recorded. Reload to see where it stands.",
                    "此步骤已被处理或审批已进入下一步，您的决定未被记录。请刷新查看最新状态。"))
            done = c.execute(sa.update(tk).where(tk.c.id == task_id, tk.c.state == PENDING).values(
                state=decision, decided_at=_now(), comment=comment)).rowcount
            if done != 1:
                raise WorkflowError(self._("You have already decided this step.", "您已处理过此步骤。"))
            approval = dict(c.execute(sa.select(a).where(a.c.id == task["approval_id"])).mappings().one())
            workflow = self._version(c, approval["version_id"])
            step = workflow.steps[approval["step_no"]]
            entity = self.meta.entity(approval["entity"])
            self._event(c, approval, "approve" if decision == "approved" else "reject", step=step.name,
                        comment=comment, on_behalf_of=task["on_behalf_of"])
            record = self._record(c, entity, approval["record_id"])
            if decision == "rejected":
                self._cancel_open(c, approval["id"])
                self._finish(c, approval, workflow, entity, record, "rejected")
            else:
                open_left = c.execute(sa.select(sa.func.count()).select_from(tk).where(
                    tk.c.approval_id == approval["id"], tk.c.step_no == approval["step_no"],
                    tk.c.state == PENDING)).scalar_one()
                if step.mode == "any" or open_left == 0:
                    self._cancel_open(c, approval["id"])
                    record = self._apply(c, entity, record, step.on_approve)
                    self._advance(c, approval, workflow, entity, record, start=approval["step_no"] + 1)
        return self.current(approval["entity"], approval["record_id"])

    def recall(self, approval_id: int, comment: str | None = None) -> dict:
        """The submitter takes a pending record back (to edit it and submit again)."""
        a = self.t.approval
        with self.site.writing() as c:
            approval = c.execute(sa.select(a).where(a.c.id == approval_id)).mappings().first()
            if approval is None or (approval["submitted_by"] != self.actor.id and not self.actor.is_admin):
                raise NotFound(self._("There is no such approval of yours.", "没有您提交的此项审批。"))
            moved = c.execute(sa.update(a).where(a.c.id == approval_id, a.c.state == PENDING).values(
                turn=a.c.turn + 1, state="recalled", step_no=None, finished_at=_now())).rowcount
            if moved != 1:
                raise WorkflowError(self._("This approval is already finished; it cannot be recalled.",
                                           "此审批已结束，无法撤回。"))
            approval = dict(approval)
            workflow = self._version(c, approval["version_id"])
            entity = self.meta.entity(approval["entity"])
            self._cancel_open(c, approval_id)
            self._event(c, approval, "recall", comment=_clean(comment))
            self._apply(c, entity, self._record(c, entity, approval["record_id"]), workflow.on_recall)
            self._set_state(c, entity, approval["record_id"], "recalled")
        return self.current(approval["entity"], approval["record_id"])

    def reassign(self, task_id: int, user_id: int, comment: str | None = None) -> dict:
        """An administrator hands a pending task to someone else (who is told)."""
        if not self.actor.is_admin:
            raise Forbidden(self._("Only administrators can reassign approvals.", "只有管理员可以转交审批。"))
        tk, a, users = self.t.approval_task, self.t.approval, self.t.users
        with self.site.writing() as c:
            task = c.execute(sa.select(tk).where(tk.c.id == task_id)).mappings().first()
            if task is None:
                raise NotFound(self._("There is no such approval task.", "没有这项审批任务。"))
            target = c.execute(sa.select(users.c.id).where(users.c.id == user_id, users.c.is_active.is_(True))).scalar()
            if target is None:
                raise RecordInvalid({"user": [self._("Choose an active user.", "请选择一个有效用户。")]})
            moved = c.execute(sa.update(a).where(a.c.id == task["approval_id"], a.c.state == PENDING,
                                                 a.c.step_no == task["step_no"]).values(turn=a.c.turn + 1)).rowcount
            if moved != 1 or task["state"] != PENDING:
                raise WorkflowError(self._("This task is no longer waiting; it cannot be reassigned.",
                                           "此任务已不在等待中，无法转交。"))
            c.execute(sa.update(tk).where(tk.c.id == task_id).values(assignee_id=user_id, on_behalf_of=None))
            approval = dict(c.execute(sa.select(a).where(a.c.id == task["approval_id"])).mappings().one())
            entity = self.meta.entity(approval["entity"])
            self._event(c, approval, "reassign", step=task["step"], target_id=user_id,
                        comment=_clean(comment), on_behalf_of=task["assignee_id"])
            self._grant_read(c, entity, approval["record_id"], user_id, approval["submitted_by"])
            self._notify_task(c, entity, self._record(c, entity, approval["record_id"]), user_id)
        return self.current(approval["entity"], approval["record_id"])

    # ================================================================ engine
    def _advance(self, c, approval: dict, workflow: Workflow, entity: Entity, record: dict, start: int) -> None:
        """Start the first step from ``start`` whose condition holds; finish when none is left."""
        a = self.t.approval
        for no in range(start, len(workflow.steps)):
            step = workflow.steps[no]
            if not self._holds(step.when, entity.name, record, on_error=True):
                self._event(c, approval, "skip", step=step.name)
                continue
            approvers = self._resolve(c, step, entity, record, approval["submitted_by"])
            if not approvers:  # the organisation changed since submit: administrators decide
                approvers = [(uid, None) for uid in self._admins(c)]
                self._event(c, approval, "escalate", step=step.name)
            now = _now()
            c.execute(sa.update(a).where(a.c.id == approval["id"]).values(step_no=no, step_started_at=now))
            due = now + dt.timedelta(hours=step.time_limit_hours) if step.time_limit_hours else None
            for user_id, behalf in approvers:
                c.execute(sa.insert(self.t.approval_task).values(
                    approval_id=approval["id"], step_no=no, step=step.name, assignee_id=user_id,
                    on_behalf_of=behalf, state=PENDING, created_at=now, due_at=due))
                if behalf is not None:
                    self._event(c, approval, "delegate", step=step.name, target_id=user_id, on_behalf_of=behalf)
                self._grant_read(c, entity, record["id"], user_id, approval["submitted_by"])
                self._notify_task(c, entity, record, user_id)
            approval["step_no"] = no
            return
        self._finish(c, approval, workflow, entity, record, "approved")

    def _finish(self, c, approval: dict, workflow: Workflow, entity: Entity, record: dict, outcome: str) -> None:
        a = self.t.approval
        record = self._apply(c, entity, record, workflow.on_approve if outcome == "approved" else workflow.on_reject)
        c.execute(sa.update(a).where(a.c.id == approval["id"]).values(
            state=outcome, step_no=None, finished_at=_now(), record_version=record["row_version"]))
        self._set_state(c, entity, record["id"], outcome)
        self._event(c, approval, outcome)
        title = self.svc.title_of(entity, record)
        if outcome == "approved":
            self._notify(c, approval["submitted_by"], "approved", entity, record["id"],
                         f"Approved: {entity.label.en} {title}", f"审批通过：{entity.label.zh} {title}")
        else:
            self._notify(c, approval["submitted_by"], "rejected", entity, record["id"],
                         f"Rejected: {entity.label.en} {title}", f"审批驳回：{entity.label.zh} {title}")

    def _cancel_open(self, c, approval_id: int) -> None:
        tk = self.t.approval_task
        c.execute(sa.update(tk).where(tk.c.approval_id == approval_id, tk.c.state == PENDING)
                  .values(state="cancelled", decided_at=_now()))

    def _apply(self, c, entity: Entity, record: dict, values) -> dict:
        """Set a workflow action's field values on the record (a new row version, with
        history), whoever the actor is: the workflow, not their role, decides these fields."""
        table = self.t[entity.name]
        values = {name: _typed(entity.fields[name], value) for name, value in (values or {}).items() if name in entity.fields}
        changes = [(name, record.get(name), value) for name, value in values.items()
                   if name in table.c and record.get(name) != value]
        if not changes:
            return record
        version = record["row_version"] + 1
        c.execute(sa.update(table).where(table.c.id == record["id"]).values(
            **{name: new for name, _, new in changes}, row_version=version, updated_at=_now(), updated_by=self.actor.id))
        self.svc._history(c, entity, record["id"], version, "update", changes)
        record = dict(record, row_version=version, **{name: new for name, _, new in changes})
        return record

    def _set_state(self, c, entity: Entity, record_id: int, state: str) -> None:
        table = self.t[entity.name]
        c.execute(sa.update(table).where(table.c.id == record_id).values(workflow_state=state))
