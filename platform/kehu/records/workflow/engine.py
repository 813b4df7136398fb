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
from kehu.errors import Conflict, Forbidden, RecordInvalid, WorkflowError
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
        entity = self.svc.record_entity(entity_name)
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
            try:
                record = self.svc._claim(c, entity, record, {"workflow_state": PENDING}, where=sa.or_(
                    table.c.workflow_state.is_(None), table.c.workflow_state != PENDING))
            except Conflict:
                raise WorkflowError(self._("This record changed or was submitted a moment ago. Reload and try again.",
                                           "此记录刚刚被修改或已被提交，请刷新后重试。")) from None
            record = self._apply(c, entity, record, workflow.on_submit)
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
            self._require_task(c, task)
            # the turn: take the approval's row (queueing concurrent deciders) only while the
            # task's step is still the current one; then read the task again, after the queue
            moved = c.execute(sa.update(a).where(
                a.c.id == task["approval_id"], a.c.state == PENDING, a.c.step_no == task["step_no"],
            ).values(turn=a.c.turn + 1)).rowcount
            task = c.execute(sa.select(tk).where(tk.c.id == task_id)).mappings().one()
            if task["assignee_id"] != self.actor.id:  # handed to someone else while we queued
                raise self._handed_on()
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
            try:  # the workflow's field changes claim the version just read, like any edit
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
            except Conflict:
                raise self._record_moved() from None
        return self.current(approval["entity"], approval["record_id"])

    def _require_task(self, c, task) -> None:
        """The actor may decide ``task``: no such approval (404) unless it exists and they can
        read its record; not allowed (403) unless it is theirs; too late (409) when it was
        theirs and an administrator handed it to someone else."""
        a = self.t.approval
        approval = c.execute(sa.select(a.c.entity, a.c.record_id).where(a.c.id == task["approval_id"])).first() if task else None
        if approval is None or not self._readable(c, approval.entity, approval.record_id):
            raise self._no_such()
        if task["assignee_id"] == self.actor.id:
            return
        ev = self.t.approval_event
        handed = c.execute(sa.select(ev.c.id).where(
            ev.c.approval_id == task["approval_id"], ev.c.action == "reassign", ev.c.step == task["step"],
            ev.c.on_behalf_of == self.actor.id).limit(1)).first()
        if handed is not None:
            raise self._handed_on()
        raise Forbidden(self._("This approval is not waiting for you; only its approvers can decide it.",
                               "此审批不在等待您处理；只有审批人可以处理。"))

    def _handed_on(self) -> WorkflowError:
        return WorkflowError(self._(
            "An administrator has handed this task to someone else; your decision was not recorded. Reload to see where it stands.",
            "管理员已将此任务转交他人，您的决定未被记录。请刷新查看最新状态。"))

    def _record_moved(self) -> WorkflowError:
        return WorkflowError(self._(
            "The record was changed while you decided; your decision was not recorded. Reload and decide again.",
            "您处理期间记录已被修改，您的决定未被记录。请刷新后重新处理。"))

    def recall(self, approval_id: int, comment: str | None = None) -> dict:
        """The submitter takes a pending record back (to edit it and submit again)."""
        a = self.t.approval
        with self.site.writing() as c:
            approval = c.execute(sa.select(a).where(a.c.id == approval_id)).mappings().first()
            if approval is None or not self._readable(c, approval["entity"], approval["record_id"]):
                raise self._no_such()
            if approval["submitted_by"] != self.actor.id and not self.actor.is_admin:
                raise Forbidden(self._("Only the one who submitted it or an administrator can recall this approval.",
                                       "只有提交人或管理员可以撤回此审批。"))
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
            try:
                self._apply(c, entity, self._record(c, entity, approval["record_id"]), workflow.on_recall, state="recalled")
            except Conflict:
                raise self._record_moved() from None
        return self.current(approval["entity"], approval["record_id"])

    def reassign(self, task_id: int, user_id: int, comment: str | None = None) -> dict:
        """An administrator hands a pending task to someone else (who is told)."""
        tk, a, users = self.t.approval_task, self.t.approval, self.t.users
        with self.site.writing() as c:
            task = c.execute(sa.select(tk).where(tk.c.id == task_id)).mappings().first()
            found = c.execute(sa.select(a.c.entity, a.c.record_id).where(a.c.id == task["approval_id"])).first() if task else None
            if found is None or not self._readable(c, found.entity, found.record_id):
                raise self._no_such()
            if not self.actor.is_admin:
                raise Forbidden(self._("Only administrators can reassign approvals.", "只有管理员可以转交审批。"))
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
        record = self._apply(c, entity, record, workflow.on_approve if outcome == "approved" else workflow.on_reject,
                             state=outcome)
        c.execute(sa.update(a).where(a.c.id == approval["id"]).values(
            state=outcome, step_no=None, finished_at=_now(), record_version=record["row_version"]))
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

    def _apply(self, c, entity: Entity, record: dict, values, state: str | None = None) -> dict:
        """Set a workflow action's field values (and the record's approval ``state``, when
        given) on the record, whoever the actor is: the workflow, not their role, decides
        these fields. It claims the row version ``record`` was read at, like every edit (a
        record changed meanwhile is a Conflict); field changes go to the history."""
        table = self.t[entity.name]
        values = {name: _typed(entity.fields[name], value) for name, value in (values or {}).items() if name in entity.fields}
        changes = [(name, record.get(name), value) for name, value in values.items()
                   if name in table.c and record.get(name) != value]
        if not changes and state is None:
            return record
        update = {name: new for name, _, new in changes}
        if state is not None:
            update["workflow_state"] = state
        record = self.svc._claim(c, entity, record, update)
        if changes:
            self.svc._history(c, entity, record["id"], record["row_version"], "update", changes)
        return record

    def cancel_for_delete(self, c, entity: Entity, record: dict) -> dict:
        """A record being deleted takes its pending approval with it: the approval ends as
        *cancelled* (so no one can decide it any more), its open tasks are closed, the
        workflow's ``on_recall`` values are set, the timeline says so and the submitter is
        told. Returns the record as written (its new row version). Called by the record
        service's delete, inside its transaction."""
        a = self.t.approval
        approval = c.execute(sa.select(a).where(a.c.entity == entity.name, a.c.record_id == record["id"],
                                                a.c.state == PENDING).order_by(a.c.id.desc()).limit(1)).mappings().first()
        if approval is None:
            return record
        # the approval's turn, as a decision takes it: a decision at the same moment waits,
        # then finds it cancelled (or this one finds it decided, and the record changed)
        moved = c.execute(sa.update(a).where(a.c.id == approval["id"], a.c.state == PENDING).values(
            turn=a.c.turn + 1, state="cancelled", step_no=None, finished_at=_now())).rowcount
        if moved != 1:
            return record
        approval = dict(approval)
        workflow = self._version(c, approval["version_id"])
        self._cancel_open(c, approval["id"])
        self._event(c, approval, "cancel")
        record = self._apply(c, entity, record, workflow.on_recall, state="cancelled")
        title = self.svc.title_of(entity, record)
        if approval["submitted_by"] != self.actor.id:
            self._notify(c, approval["submitted_by"], "cancelled", entity, record["id"],
                         f"Approval cancelled: {entity.label.en} {title} was deleted by {self.actor.display_name}",
                         f"审批已取消：{entity.label.zh} {title} 已被{self.actor.display_name}删除")
        return record
