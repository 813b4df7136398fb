"""Delegation: a user names a delegate for a date range; approvals that would reach them
then go to the delegate (see :mod:`kehu.records.workflow.approvers`)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from kehu.errors import NotFound, RecordInvalid
from kehu.records.workflow.common import Base, _now


class Delegation(Base):
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
