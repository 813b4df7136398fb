"""Who owns a record and who else may use it: assign, share, transfer, and "why can they see it".

These are the dedicated actions that change server-owned data (``owner``) and grants
(``kehu_share``); the generic create/update refuse both. Each checks the policy before any
change, writes the record's history where a record changes, and writes an audit entry.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from kehu.errors import Forbidden, Locked, NotFound, RecordInvalid
from kehu.records.policy import ACTION_LABELS_ZH, LEVELS, Policy

LEVEL_LABELS_ZH = {"none": "无", "own": "本人", "department": "本部门", "department_tree": "本部门及下级部门", "all": "全部"}

PRINCIPALS = ("user", "team", "department")


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


class Ownership:
    def __init__(self, service):
        self.svc = service
        self.site = service.site
        self.tables = service.tables
        self.policy = service.policy
        self.t = service.t

    # --------------------------------------------------------------- assign
    def assign(self, entity_name: str, record_ids, new_owner: int) -> int:
        """Give records to another user; all or nothing: one refused record refuses all.
        A record waiting for approval is not reassigned by anyone, administrators included
        (its approvers were found from its owner): recall or decide the approval first."""
        entity = self.svc.record_entity(entity_name)
        ids = sorted({int(i) for i in record_ids})
        if not ids:
            return 0
        table = self.tables[entity.name]
        with self.site.writing() as c:
            allowed = {r for (r,) in c.execute(sa.select(table.c.id).where(
                table.c.id.in_(ids), table.c.deleted_at.is_(None), self.policy.predicate(entity, table, "assign")))}
            if allowed != set(ids):
                readable = {r for (r,) in c.execute(sa.select(table.c.id).where(  # live ones: the bin is not found
                    table.c.id.in_(ids), table.c.deleted_at.is_(None), self.policy.predicate(entity, table, "read")))}
                if readable != set(ids):
                    raise self.svc._not_found(entity, ", ".join(str(i) for i in sorted(set(ids) - readable)))
                raise Forbidden(self.t("You may not reassign some of these records; nothing was changed.",
                                       "您无权分配其中部分记录；未做任何更改。"))
            held = c.execute(sa.select(table.c.id).where(table.c.id.in_(ids), self._pending(table))).scalars().all()
            if held:
                names = self.svc.visible_titles(entity.name, held)
                listed = ", ".join(names.get(i, f"#{i}") for i in sorted(held))
                raise Locked(self.t(
                    f"Waiting for approval, so it cannot be reassigned until the approval is decided or recalled: {listed}. Nothing was changed.",
                    f"以下记录正在审批中，审批完成或撤回之前不能重新分配：{listed}。未做任何更改。"))
            self._require_active_user(c, new_owner)  # permission first: a refusal reveals nothing
            self._move(c, entity, ids, new_owner, "assign")
        return len(ids)

    @staticmethod
    def _pending(table):
        return table.c.workflow_state == "pending"

    def _move(self, c, entity, ids: list[int], new_owner: int, action: str) -> None:
        """Each record claims the row version read here (an edit committed meanwhile makes
        the whole move a Conflict, never a second write under the same version)."""
        table = self.tables[entity.name]
        # in id order: two moves over the same records take their row locks in the same order
        rows = c.execute(sa.select(table.c.id, table.c.owner, table.c.row_version).where(table.c.id.in_(ids))
                         .order_by(table.c.id)).all()
        for rid, old_owner, version in rows:
            if old_owner == new_owner:
                continue
            written = self.svc._claim(c, entity, {"id": rid, "row_version": version}, {"owner": new_owner},
                                      where=sa.or_(table.c.workflow_state.is_(None), ~self._pending(table)))
            self.svc._history(c, entity, rid, written["row_version"], "update", [("owner", old_owner, new_owner)])
        self.site.audit(c, self.svc.actor.id, action, entity.name, ids[0] if len(ids) == 1 else None,
                        {"records": ids, "to": new_owner})

    def _require_active_user(self, c, user_id) -> None:
        users = self.tables.users
        if c.execute(sa.select(users.c.id).where(users.c.id == user_id, users.c.is_active.is_(True))).first() is None:
            raise RecordInvalid({"owner": [self.t("Choose an active user.", "请选择在职用户。")]})

    # ---------------------------------------------------------------- share
    def shares(self, entity_name: str, record_id: int) -> list[dict]:
        entity = self.svc.entity(entity_name)
        self.svc.get(entity.name, record_id)  # 404 unless readable
        s = self.tables.shares
        with self.site.reading() as c:
            return [dict(r) for r in c.execute(sa.select(s).where(
                s.c.entity == entity.name, s.c.record_id == record_id).order_by(s.c.id)).mappings()]

    def share(self, entity_name: str, record_id: int, principal_type: str, principal_id: int, access: str) -> int:
        """Share a record; one cannot grant more than one has (write needs write). Allowed
        while the record waits for approval: a share changes who may open the record, not
        the record (approvers themselves receive a read share)."""
        entity = self.svc.record_entity(entity_name)
        s = self.tables.shares
        with self.site.writing() as c:
            record = self.svc.get(entity.name, record_id, conn=c)
            self.policy.require(entity, "share", record, conn=c)
            if principal_type not in PRINCIPALS or access not in ("read", "write"):
                raise RecordInvalid({"principal": [self.t("Choose a user, team or department and read or write.", "请选择用户、团队或部门，以及只读或可写。")]})
            if access == "write":
                self.policy.require(entity, "write", record, conn=c)
            self._require_principal(c, principal_type, principal_id)
            c.execute(sa.delete(s).where(s.c.entity == entity.name, s.c.record_id == record_id,
                                         s.c.principal_type == principal_type, s.c.principal_id == principal_id))
            share_id = c.execute(sa.insert(s).values(
                entity=entity.name, record_id=record_id, principal_type=principal_type, principal_id=principal_id,
                access=access, granted_by=self.svc.actor.id, granted_at=_now()).returning(s.c.id)).scalar_one()
            self.site.audit(c, self.svc.actor.id, "share", entity.name, record_id,
                            {"principal_type": principal_type, "principal_id": principal_id, "access": access})
            return share_id

    def unshare(self, entity_name: str, record_id: int, share_id: int) -> None:
        entity = self.svc.record_entity(entity_name)
        s = self.tables.shares
        with self.site.writing() as c:
            record = self.svc.get(entity.name, record_id, conn=c)
            self.policy.require(entity, "share", record, conn=c)
            row = c.execute(sa.select(s).where(s.c.id == share_id, s.c.entity == entity.name,
                                               s.c.record_id == record_id)).mappings().first()
            if row is None:
                raise NotFound(self.t("No such share.", "没有这个共享。"))
            c.execute(sa.delete(s).where(s.c.id == share_id))
            self.site.audit(c, self.svc.actor.id, "unshare", entity.name, record_id,
                            {"principal_type": row["principal_type"], "principal_id": row["principal_id"]})

    def _require_principal(self, c, kind: str, principal_id: int) -> None:
        table = {"user": self.tables.users, "team": self.tables.teams, "department": self.tables.departments}[kind]
        if c.execute(sa.select(table.c.id).where(table.c.id == principal_id)).first() is None:
            raise RecordInvalid({"principal": [self.t("No such user, team or department.", "没有这个用户、团队或部门。")]})

    # ------------------------------------------------------------- transfer
    def _require_admin(self) -> None:
        if not self.policy.is_admin:
            raise Forbidden(self.t("Only administrators can transfer all of a user's records.", "只有管理员可以转移用户的全部记录。"))

    def _movable(self, table, from_user: int):
        """A user's live records that a transfer moves: all but those waiting for approval."""
        return sa.and_(table.c.owner == from_user, table.c.deleted_at.is_(None),
                       sa.or_(table.c.workflow_state.is_(None), ~self._pending(table)))

    def transfer_preview(self, from_user: int, to_user: int) -> list[tuple[str, int]]:
        """How many live records of each entity would move from one user to another (records
        waiting for approval stay: see :meth:`transfer_held`)."""
        self._require_admin()
        out = []
        with self.site.reading() as c:
            for name, entity in self.site.metadata.entities.items():
                if entity.child_of:
                    continue  # lines follow their parent
                table = self.tables[name]
                n = c.execute(sa.select(sa.func.count()).select_from(table).where(self._movable(table, from_user))).scalar_one()
                if n:
                    out.append((name, n))
        return out

    def transfer_held(self, from_user: int) -> list[tuple[str, int, str]]:
        """(entity, id, title) of the user's records a transfer leaves with them because they
        wait for approval; once decided or recalled, a second transfer moves them."""
        self._require_admin()
        out = []
        with self.site.reading() as c:
            for name, entity in self.site.metadata.entities.items():
                if entity.child_of:
                    continue
                table = self.tables[name]
                title, _shown = self.svc._title_column(entity, table)
                for rid, text in c.execute(sa.select(table.c.id, title).where(
                        table.c.owner == from_user, table.c.deleted_at.is_(None), self._pending(table)).order_by(table.c.id)):
                    out.append((name, rid, self.svc.title_of(entity, {"id": rid, entity.title_field: text})))
        return out

    def transfer(self, from_user: int, to_user: int) -> list[tuple[str, int]]:
        """Move every live record of one user to another (someone left); one transaction.
        Records waiting for approval are skipped (see :meth:`transfer_held`)."""
        self._require_admin()
        if from_user == to_user:
            raise RecordInvalid({"to_user": [self.t("Choose a different user.", "请选择另一位用户。")]})
        moved = []
        held: dict[str, int] = {}
        with self.site.writing() as c:
            self._require_active_user(c, to_user)
            for name, entity in self.site.metadata.entities.items():
                if entity.child_of:
                    continue
                table = self.tables[name]
                ids = [r for (r,) in c.execute(sa.select(table.c.id).where(self._movable(table, from_user)))]
                if ids:
                    self._move(c, entity, ids, to_user, "transfer")
                    moved.append((name, len(ids)))
                kept = c.execute(sa.select(sa.func.count()).select_from(table).where(
                    table.c.owner == from_user, table.c.deleted_at.is_(None), self._pending(table))).scalar_one()
                if kept:
                    held[name] = kept
            detail = {"from": from_user, "to": to_user, "moved": dict(moved)}
            if held:
                detail["held"] = held  # waiting for approval: not moved
            self.site.audit(c, self.svc.actor.id, "transfer.all", None, None, detail)
        return moved

    # -------------------------------------------------------------- explain
    def explain(self, entity_name: str, record_id: int, user_id: int) -> list[dict]:
        """For each action: may ``user_id`` do it on this record, and by which rule.

        Computed by that user's own policy, the same one that filters their lists."""
        self._require_admin()
        entity = self.svc.entity(entity_name)
        record = self.svc._fetch(entity, record_id)
        user = self.site.user(user_id)
        if user is None:
            raise NotFound(self.t("No such user.", "没有这个用户。"))
        theirs = Policy(self.site, self.site.actor(user))
        out = []
        for action in ("read", "write", "delete", "export", "assign", "share"):
            allowed = bool(user["is_active"]) and theirs.can(entity, action, record)
            out.append({"action": action, "allowed": allowed, "reason": self._reason(theirs, entity, record, action, user)})
        return out

    def _reason(self, theirs: Policy, entity, record: dict, action: str, user: dict) -> str:
        t = self.t
        if not user["is_active"]:
            return t("The user is deactivated.", "该用户已停用。")
        if theirs.is_admin:
            return t("System administrator.", "系统管理员。")
        level = theirs.level(entity.name, action)
        zh = not self.svc.lang.startswith("en")
        metadata_roles = self.site.metadata.roles
        roles = ("、" if zh else ", ").join(
            metadata_roles[r].label.get(self.svc.lang) if r in metadata_roles else r for r in theirs.grants.roles
        ) or t("no role", "无角色")
        action_label = ACTION_LABELS_ZH.get(action, action) if zh else action
        level_label = LEVEL_LABELS_ZH.get(level, level) if zh else level.replace("_", " ")
        owners = theirs.owner_ids(level)
        if owners is None:
            return t(f"Role ({roles}) grants '{action}' on all records.", f"角色（{roles}）授予对全部记录的“{action_label}”权限。")
        owner = record.get("owner")
        if owner in owners:
            what = {"own": t("they own it", "本人负责"), "department": t("the owner is in their department", "负责人在其部门"),
                    "department_tree": t("the owner is in their department or below", "负责人在其部门或下级部门")}[level]
            return t(f"Role ({roles}) grants '{action}' at level '{level_label}': {what}.",
                     f"角色（{roles}）以“{level_label}”范围授予“{action_label}”权限：{what}。")
        granted = self._granted_reason(theirs, entity, record, action, user)
        if granted:
            return granted
        if action in ("read", "write"):
            s = self.tables.shares
            with self.site.reading() as c:
                shared = c.execute(sa.select(s.c.principal_type, s.c.access).where(
                    s.c.record_id == record["id"], theirs.share_condition(entity.name, action))).first()
            if shared is not None:
                kind_zh = {"user": "本人", "team": "所在团队", "department": "所在部门"}[shared.principal_type]
                access_zh = {"read": "只读", "write": "可写"}[shared.access]
                return t(f"Shared with their {shared.principal_type} for {shared.access}.",
                         f"已共享给{kind_zh}（{access_zh}）。")
        if level == "none":
            return t(f"No role of theirs ({roles}) grants '{action}' on {entity.label.en}.",
                     f"其角色（{roles}）未授予对{entity.label.zh}的“{action_label}”权限。")
        return t(f"Role ({roles}) grants '{action}' only at level '{level_label}', and the record's owner is outside it.",
                 f"角色（{roles}）仅以“{level_label}”范围授予“{action_label}”权限，而记录负责人不在此范围内。")

    def _granted_reason(self, theirs: Policy, entity, record: dict, action: str, user: dict) -> str | None:
        """The granting field that names them (or the department they manage), or the parent
        a line follows; None when neither applies."""
        t = self.t
        asked = "read" if action == "export" and theirs.level(entity.name, "export") != "none" else action
        if asked not in ("read", "write"):
            return None
        for fld in entity.granting_fields():
            value = record.get(fld.name)
            if fld.grants(asked) and value is not None and value == user["id"]:
                return t(f"The field '{fld.label.en}' names them, and it grants '{asked}'.",
                         f"字段“{fld.label.zh}”指定了该用户，该字段授予“{ACTION_LABELS_ZH[asked]}”权限。")
            if fld.grants(asked, "grants_manager") and value is not None and value in theirs.grants.managed_codes:
                return t(f"They manage the department named in '{fld.label.en}', which grants '{asked}' to its manager.",
                         f"该用户是“{fld.label.zh}”所指部门的经理，该字段授予部门经理“{ACTION_LABELS_ZH[asked]}”权限。")
        if entity.child_of and action in ("read", "write"):
            parent = self.site.metadata.entities.get(entity.child_of)
            link = next((f.get("link_field") for f in (parent.child_tables() if parent else ()) if f.target == entity.name), None)
            if link and record.get(link) is not None and theirs.can(parent, action, {"id": record[link]}):
                return t(f"Lines follow their parent: they may {action} {parent.label.en.lower()} #{record[link]}.",
                         f"明细随其所属记录：该用户可对{parent.label.zh} #{record[link]} 执行“{ACTION_LABELS_ZH[action]}”操作。")
        return None


__all__ = ["Ownership", "LEVELS"]
