"""Approvals: submit a record to its workflow, decide, recall, reassign, delegate, remind.

Reached through the record service (``svc.approvals``), so the same actor, permission
policy and transactions apply as for every other record operation.

How an approval runs: submitting picks the entity's first enabled workflow whose entry
condition holds, stores (once per content) the workflow's definition as a version, and
starts the first step whose ``when`` holds. A step creates one task per approver; an
approver with a delegation for today is replaced by their delegate (the task remembers
whom it is for). ``any``: the first approval completes the step and cancels the other
tasks; ``all``: every task must be approved. Any rejection ends the approval. While an
approval is pending the record's ``workflow_state`` is ``pending`` and the record service
refuses edits by anyone but administrators.

Concurrency: every decision first bumps ``kehu_approval.turn`` *where the step is still the
one the task belongs to*. On PostgreSQL that takes the approval's row lock, so a second
decision waits, then finds the step moved on (0 rows) and is refused; on SQLite writes are
serialised by ``BEGIN IMMEDIATE``. Either way one decision completes a step, never two.

Approvals in flight keep running on the stored version of their workflow, whatever later
changes to the workflow documents say.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import sqlalchemy as sa

from kehu import expressions
from kehu.errors import Forbidden, NotFound, RecordInvalid, WorkflowError
from kehu.metadata.model import Entity, Step, Workflow, thaw

PENDING = "pending"


@dataclass(frozen=True)
class Task:
    id: int
    approval_id: int
    step_no: int
    step: str
    assignee_id: int
    on_behalf_of: int | None
    state: str
    created_at: dt.datetime
    due_at: dt.datetime | None
    decided_at: dt.datetime | None
    comment: str | None

    def overdue(self, now: dt.datetime | None = None) -> bool:
        return self.state == PENDING and self.due_at is not None and self.due_at < (now or _now())


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


@lru_cache(maxsize=256)
def _definition(text: str) -> Workflow:
    return Workflow.from_raw(json.loads(text))


def _typed(field, value):
    """A workflow's `set` value (checked when metadata loads) as the column stores it."""
    if value is None or not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return value
    if field.type == "date":
        return dt.date.fromisoformat(str(value))
    if field.type == "datetime":
        return dt.datetime.fromisoformat(str(value))
    if field.type in ("decimal", "currency", "percent"):
        return Decimal(str(value))
    return value


def _clean(comment: str | None) -> str | None:
    """A comment as stored: trimmed, at most 2,000 characters, None when empty."""
    return (comment or "").strip()[:2000] or None


def _digest(workflow: Workflow) -> tuple[str, str]:
    text = json.dumps(thaw(workflow.raw), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest(), text


class Approvals:
    def __init__(self, service):
        self.svc = service
        self.site = service.site
        self.t = service.tables
        self.actor = service.actor
        self.meta = service.meta

    def _(self, en: str, zh: str) -> str:
        return self.svc.t(en, zh)

    # ================================================================ reading
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

    def _version(self, c, version_id: int) -> Workflow:
        v = self.t.workflow_version
        text = c.execute(sa.select(v.c.definition).where(v.c.id == version_id)).scalar_one()
        return _definition(text)

    def _tasks(self, c, approval_id: int) -> list[Task]:
        tk = self.t.approval_task
        rows = c.execute(sa.select(tk).where(tk.c.approval_id == approval_id).order_by(tk.c.id)).mappings()
        return [Task(**{k: r[k] for k in Task.__dataclass_fields__}) for r in rows]

    def locate(self, *, task_id: int | None = None, approval_id: int | None = None) -> tuple[str, int]:
        """(entity, record id) of a task's or an approval's record, for answering a request
        about it; who may act on it is checked by the action itself."""
        tk, a = self.t.approval_task, self.t.approval
        stmt = sa.select(a.c.entity, a.c.record_id)
        stmt = (stmt.select_from(tk.join(a, a.c.id == tk.c.approval_id)).where(tk.c.id == task_id)
                if task_id is not None else stmt.where(a.c.id == approval_id))
        with self.site.reading() as c:
            row = c.execute(stmt).first()
        if row is None:
            raise NotFound(self._("There is no such approval.", "没有这项审批。"))
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

    def _record(self, c, entity: Entity, record_id: int) -> dict:
        table = self.t[entity.name]
        row = c.execute(sa.select(table).where(table.c.id == record_id)).mappings().first()
        if row is None:
            raise NotFound(self._("The record of this approval no longer exists.", "此审批的记录已不存在。"))
        return dict(row)

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

    def _event(self, c, approval: dict, action: str, *, step: str | None = None, comment: str | None = None,
               on_behalf_of: int | None = None, target_id: int | None = None) -> None:
        c.execute(sa.insert(self.t.approval_event).values(
            approval_id=approval["id"], entity=approval["entity"], record_id=approval["record_id"], at=_now(),
            actor_id=self.actor.id if action not in ("skip", "delegate", "escalate", "approved", "rejected", "remind") else None,
            action=action, step=step, comment=comment, on_behalf_of=on_behalf_of, target_id=target_id))
        self.site.pm.hook.after_approval_event(
            service=self.svc, conn=c, entity=self.meta.entities.get(approval["entity"]), record_id=approval["record_id"],
            approval_id=approval["id"], action=action, step=step, comment=comment)

    def _grant_read(self, c, entity: Entity, record_id: int, user_id: int, granted_by: int) -> None:
        """An approver must be able to open what they approve: a read share from the
        submitter (kept afterwards, so the decision stays visible to them)."""
        sh = self.t.shares
        exists = c.execute(sa.select(sh.c.id).where(
            sh.c.entity == entity.name, sh.c.record_id == record_id, sh.c.principal_type == "user",
            sh.c.principal_id == user_id)).first()
        if exists is None:
            c.execute(sa.insert(sh).values(entity=entity.name, record_id=record_id, principal_type="user",
                                           principal_id=user_id, access="read", granted_by=granted_by,
                                           granted_at=_now()))

    def _notify_task(self, c, entity: Entity, record: dict, user_id: int) -> None:
        title = self.svc.title_of(entity, record)
        self._notify(c, user_id, "approval", entity, record["id"],
                     f"Waiting for your approval: {entity.label.en} {title}", f"待您审批：{entity.label.zh} {title}")

    def _notify(self, c, user_id: int, kind: str, entity: Entity | None, record_id: int | None, en: str, zh: str) -> None:
        c.execute(sa.insert(self.t.notification).values(
            user_id=user_id, at=_now(), kind=kind, text_en=en[:400], text_zh=zh[:400],
            entity=entity.name if entity else None, record_id=record_id))

    # ============================================================= approvers
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

    # ============================================================ delegation
    def delegations(self) -> list[dict]:
        d, users = self.t.delegation, self.t.users
        with self.site.reading() as c:
            return [dict(r) for r in c.execute(
                sa.select(d, users.c.display_name.label("delegate_name"))
                .select_from(d.join(users, users.c.id == d.c.delegate_id))
                .where(d.c.user_id == self.actor.id).order_by(d.c.starts_on.desc())).mappings()]

    def delegate(self, delegate_id, starts_on, ends_on) -> int:
        """Name a delegate for a date range: approvals that would reach the actor in it go to them."""
        errors: dict[str, list[str]] = {}
        users = self.t.users
        try:
            delegate_id = int(delegate_id)
        except (TypeError, ValueError):
            delegate_id = None
        dates = {}
        for key, raw in (("starts_on", starts_on), ("ends_on", ends_on)):
            try:
                dates[key] = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw or "").strip())
            except ValueError:
                errors.setdefault(key, []).append(self._("Enter a date (YYYY-MM-DD).", "请输入日期（年-月-日）。"))
        if delegate_id is None or delegate_id == self.actor.id:
            errors.setdefault("delegate_id", []).append(self._("Choose someone else.", "请选择其他人。"))
        if len(dates) == 2 and dates["ends_on"] < dates["starts_on"]:
            errors.setdefault("ends_on", []).append(self._("The end cannot be before the start.", "结束日期不能早于开始日期。"))
        with self.site.writing() as c:
            if delegate_id is not None and c.execute(sa.select(users.c.id).where(
                    users.c.id == delegate_id, users.c.is_active.is_(True))).first() is None:
                errors.setdefault("delegate_id", []).append(self._("Choose an active user.", "请选择一个有效用户。"))
            if errors:
                raise RecordInvalid(errors)
            d = self.t.delegation
            new_id = c.execute(sa.insert(d).values(user_id=self.actor.id, delegate_id=delegate_id, created_at=_now(),
                                                   **dates).returning(d.c.id)).scalar_one()
            self.site.audit(c, self.actor.id, "delegate", detail={"delegate_id": delegate_id, **{k: v.isoformat() for k, v in dates.items()}})
            return new_id

    def end_delegation(self, delegation_id: int) -> None:
        d = self.t.delegation
        with self.site.writing() as c:
            gone = c.execute(sa.delete(d).where(d.c.id == delegation_id, d.c.user_id == self.actor.id)).rowcount
            if not gone:
                raise NotFound(self._("No such delegation of yours.", "没有这条委托。"))
            self.site.audit(c, self.actor.id, "end_delegation", detail={"delegation_id": delegation_id})

    # ============================================================= reminders
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
