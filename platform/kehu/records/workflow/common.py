"""What every part of the approval workflow shares: the task record, small value helpers,
and the base class with the tables, the actor and the writes every part makes (events,
notifications, read shares)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import sqlalchemy as sa

from kehu.errors import NotFound
from kehu.metadata.model import Entity, Workflow, thaw

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



class Base:
    def __init__(self, service):
        self.svc = service
        self.site = service.site
        self.t = service.tables
        self.actor = service.actor
        self.meta = service.meta

    def _(self, en: str, zh: str) -> str:
        return self.svc.t(en, zh)

    def _version(self, c, version_id: int) -> Workflow:
        v = self.t.workflow_version
        text = c.execute(sa.select(v.c.definition).where(v.c.id == version_id)).scalar_one()
        return _definition(text)

    def _tasks(self, c, approval_id: int) -> list[Task]:
        tk = self.t.approval_task
        rows = c.execute(sa.select(tk).where(tk.c.approval_id == approval_id).order_by(tk.c.id)).mappings()
        return [Task(**{k: r[k] for k in Task.__dataclass_fields__}) for r in rows]

    def _no_such(self) -> NotFound:
        """The one answer for an approval or task that does not exist *or* whose record the
        actor cannot read: the same status and words either way, so nothing is given away."""
        return NotFound(self._("There is no such approval.", "没有这项审批。"))

    def _readable(self, c, entity_name: str, record_id: int) -> bool:
        """Whether the actor can read the (live) record an approval is about."""
        entity = self.meta.entities.get(entity_name)
        if entity is None:
            return False
        table = self.t[entity.name]
        return c.execute(sa.select(table.c.id).where(
            table.c.id == record_id, self.svc._visible(entity, table))).first() is not None

    def _record(self, c, entity: Entity, record_id: int) -> dict:
        table = self.t[entity.name]
        row = c.execute(sa.select(table).where(table.c.id == record_id)).mappings().first()
        if row is None:
            raise NotFound(self._("The record of this approval no longer exists.", "此审批的记录已不存在。"))
        return dict(row)

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
