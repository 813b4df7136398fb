"""The audit log in words: each entry's action and detail as a sentence with names.

An audit entry stores ids (users, departments, teams, records) in a JSON detail. This module
reads one page of entries and names everything they mention in a few batched reads — the
people, departments and teams once, the records of each entity in one query through the
record service — and words each action in the reader's language: who assigned which records
to whom, what was shared with whom, whose records moved to whom, which roles changed. An
action it does not know is still shown as readable "key: value" parts, never as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import url_for
from markupsafe import Markup, escape

from kehu.fields.base import tr
from kehu.records.labels import DELETED, Unreadable

NAMED_RECORDS = 5  # an assignment names its first few records, then "and n more"


@dataclass
class Line:
    """One audit entry as shown: its time, who, what (a label) and the sentence."""

    entry: dict
    action: str
    sentence: Markup
    target: Markup | None


class AuditWords:
    """Words the entries of one page for a reader (an administrator) in ``lang``."""

    def __init__(self, site, org, records, lang: str):
        self.site = site
        self.org = org
        self.records = records
        self.lang = lang
        self.meta = site.metadata
        self.users = {u["id"]: u for u in org.users()}
        self.departments = org.departments()
        self.teams = {t["id"]: t["name"] for t in org.teams()}
        self.titles: dict[tuple[str, int], str] = {}

    def t(self, en: str, zh: str) -> str:
        return tr(self.lang, en, zh)

    # ------------------------------------------------------------ names
    def _detail(self, entry: dict) -> dict:
        try:
            detail = json.loads(entry.get("detail") or "{}")
        except ValueError:
            detail = {}
        return detail if isinstance(detail, dict) else {}

    def _prefetch(self, entries: list[dict]) -> None:
        """The titles of every record the page mentions: one query per entity."""
        wanted: dict[str, set[int]] = {}
        for entry in entries:
            entity = entry.get("entity")
            if entity not in self.meta.entities or self.meta.entities[entity].child_of:
                continue
            ids = wanted.setdefault(entity, set())
            if isinstance(entry.get("record_id"), int):
                ids.add(entry["record_id"])
            records = self._detail(entry).get("records")
            if isinstance(records, list):
                ids.update(i for i in records[:NAMED_RECORDS] if isinstance(i, int))
        for entity, ids in wanted.items():
            found = self.records.visible_titles(entity, ids)
            for rid in ids:
                self.titles[(entity, rid)] = found.get(rid) or Unreadable(DELETED, self.lang)

    def user(self, user_id) -> Markup:
        user = self.users.get(user_id) if isinstance(user_id, int) else None
        if user is None:
            return escape(self.t("(unknown user)", "（未知用户）")) if user_id is not None else escape("—")
        return Markup('<a href="{}">{}</a>').format(url_for("admin.edit_user", user_id=user_id), user["display_name"])

    def department(self, dept_id) -> Markup:
        dept = self.departments.get(dept_id) if isinstance(dept_id, int) else None
        if dept is None:
            return escape(self.t("none", "无")) if dept_id is None else escape(self.t("(unknown department)", "（未知部门）"))
        return Markup('<a href="{}">{}</a>').format(url_for("admin.edit_department", dept_id=dept_id), dept.label(self.lang))

    def team(self, team_id) -> Markup:
        name = self.teams.get(team_id) if isinstance(team_id, int) else None
        if name is None:
            return escape(self.t("(unknown team)", "（未知团队）"))
        return Markup('<a href="{}">{}</a>').format(url_for("admin.edit_team", team_id=team_id), name)

    def principal(self, kind, pid) -> Markup:
        if kind == "team":
            return Markup("{} {}").format(self.t("team", "团队"), self.team(pid))
        if kind == "department":
            return Markup("{} {}").format(self.t("department", "部门"), self.department(pid))
        return self.user(pid)

    def role(self, name) -> str:
        role = self.meta.roles.get(name)
        return role.label.get(self.lang) if role else str(name)

    def roles(self, names) -> str:
        names = names if isinstance(names, list) else []
        return self._join([self.role(n) for n in names]) if names else self.t("none", "无")

    def entity_label(self, entity: str | None, plural: bool = False) -> str:
        ent = self.meta.entities.get(entity or "")
        if ent is None:
            return entity or ""
        return (ent.plural_label if plural else ent.label).get(self.lang)

    def record(self, entity: str | None, record_id) -> Markup:
        ent = self.meta.entities.get(entity or "")
        if ent is None or not isinstance(record_id, int):
            return escape(self.t("a record", "一条记录"))
        title = self.titles.get((ent.name, record_id)) or Unreadable(DELETED, self.lang)
        if isinstance(title, Unreadable) or ent.child_of:
            return escape(title)
        return Markup('<a href="{}">{}</a>').format(url_for("records.detail", entity=ent.name, record_id=record_id), title)

    def records_named(self, entity: str | None, ids) -> Markup:
        ids = [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []
        named = [self.record(entity, i) for i in ids[:NAMED_RECORDS]]
        sep = Markup("、") if self.lang.startswith("zh") else Markup(", ")
        text = sep.join(named)
        if len(ids) > NAMED_RECORDS:
            text += escape(self.t(f" and {len(ids) - NAMED_RECORDS} more", f" 等 {len(ids)} 条"))
        return text

    def _join(self, items) -> str:
        return ("、" if self.lang.startswith("zh") else ", ").join(str(i) for i in items)

    def access(self, value) -> str:
        return {"read": self.t("read only", "只读"), "write": self.t("read and write", "可读写")}.get(value, str(value))

    # ------------------------------------------------------- sentences
    ACTIONS = {
        "assign": ("Assigned", "分配"),
        "transfer": ("Transferred", "转移"),
        "transfer.all": ("Transfer of all records", "转移全部记录"),
        "share": ("Shared", "共享"),
        "unshare": ("Share removed", "撤销共享"),
        "department.create": ("Department created", "新建部门"),
        "department.update": ("Department changed", "修改部门"),
        "team.create": ("Team created", "新建团队"),
        "team.members": ("Team members set", "设置团队成员"),
        "user.create": ("User created", "新建用户"),
        "user.update": ("User changed", "修改用户"),
        "user.password": ("Password reset", "重置密码"),
        "delegate": ("Approvals delegated", "委托审批"),
        "end_delegation": ("Delegation ended", "结束委托"),
        "export": ("Exported", "导出"),
        "dispatch": ("Dispatched", "派工"),
        "user.attributes": ("Regions and skills", "区域与技能"),
    }

    def action(self, name: str) -> str:
        en, zh = self.ACTIONS.get(name, (name.replace(".", " ").replace("_", " ").capitalize(), name))
        return self.t(en, zh)

    def sentence(self, entry: dict) -> Markup:
        action, d = entry["action"], self._detail(entry)
        entity = entry.get("entity")
        f = Markup.format
        if action in ("assign", "transfer"):
            ids = d.get("records") if isinstance(d.get("records"), list) else ([entry["record_id"]] if entry.get("record_id") else [])
            what = self.entity_label(entity, plural=len(ids) != 1)
            verb_en = "Assigned" if action == "assign" else "Transferred"
            verb_zh = "分配给" if action == "assign" else "转移给"
            return f(Markup(self.t("{verb} {n} {what} ({names}) to {to}", "将 {n} 条{what}（{names}）{verb} {to}")),
                     verb=self.t(verb_en, verb_zh), n=len(ids), what=what, names=self.records_named(entity, ids),
                     to=self.user(d.get("to")))
        if action == "transfer.all":
            moved = d.get("moved") if isinstance(d.get("moved"), dict) else {}
            counts = self._join(f"{self.entity_label(e, plural=True)} {n}" for e, n in moved.items()) or self.t("nothing", "无")
            return f(Markup(self.t("Moved every record of {frm} to {to}: {counts}", "将 {frm} 的全部记录转给 {to}：{counts}")),
                     frm=self.user(d.get("from")), to=self.user(d.get("to")), counts=counts)
        if action == "share":
            return f(Markup(self.t("Shared {what} {record} with {whom} ({access})", "将{what} {record} 共享给 {whom}（{access}）")),
                     what=self.entity_label(entity), record=self.record(entity, entry.get("record_id")),
                     whom=self.principal(d.get("principal_type"), d.get("principal_id")), access=self.access(d.get("access")))
        if action == "unshare":
            return f(Markup(self.t("Stopped sharing {what} {record} with {whom}", "取消将{what} {record} 共享给 {whom}")),
                     what=self.entity_label(entity), record=self.record(entity, entry.get("record_id")),
                     whom=self.principal(d.get("principal_type"), d.get("principal_id")))
        if action in ("department.create", "department.update"):
            verb = self.t("Created", "新建") if action.endswith("create") else self.t("Changed", "修改")
            return f(Markup(self.t("{verb} department {name}: under {parent}, manager {manager}",
                                   "{verb}部门 {name}：上级 {parent}，负责人 {manager}")),
                     verb=verb, name=self.department(entry.get("record_id")) if entry.get("record_id") in self.departments else d.get("name", ""),
                     parent=self.department(d.get("parent_id")), manager=self.user(d.get("manager_id")) if d.get("manager_id") else self.t("none", "无"))
        if action in ("team.create", "team.members"):
            members = d.get("members") if isinstance(d.get("members"), list) else []
            people = Markup("、" if self.lang.startswith("zh") else ", ").join(self.user(m) for m in members) or self.t("nobody", "无")
            if action == "team.create":
                return f(Markup(self.t("Created team {team} with {people}", "新建团队 {team}，成员：{people}")),
                         team=self.team(entry.get("record_id")), people=people)
            return f(Markup(self.t("Set the members of team {team}: {people}", "设置团队 {team} 的成员：{people}")),
                     team=self.team(entry.get("record_id")), people=people)
        if action == "user.create":
            admin = self.t(", administrator", "，管理员") if d.get("is_admin") else ""
            return f(Markup(self.t("Created user {user} ({username}) in {dept} with roles {roles}{admin}",
                                   "新建用户 {user}（{username}），部门 {dept}，角色 {roles}{admin}")),
                     user=self.user(entry.get("record_id")), username=d.get("username", ""),
                     dept=self.department(d.get("department_id")), roles=self.roles(d.get("roles")), admin=admin)
        if action == "user.update":
            return f(Markup(self.t("Changed user {user}: {changes}", "修改用户 {user}：{changes}")),
                     user=self.user(entry.get("record_id")), changes=self.user_changes(d))
        if action == "user.password":
            return f(Markup(self.t("Reset the password of {user}", "重置了 {user} 的密码")), user=self.user(entry.get("record_id")))
        if action == "delegate":
            return f(Markup(self.t("Delegated their approvals to {to} from {start} to {end}",
                                   "将审批委托给 {to}，{start} 至 {end}")),
                     to=self.user(d.get("delegate_id")), start=d.get("starts_on", "—"), end=d.get("ends_on", "—"))
        if action == "end_delegation":
            return escape(self.t("Ended a delegation of their approvals", "结束了一项审批委托"))
        if action == "dispatch":
            record = self.record(entity, entry.get("record_id"))
            if "rule" in d:
                return f(Markup(self.t("Dispatched {record} to {to} by the rule “{rule}”", "按规则“{rule}”将 {record} 派给 {to}")),
                         record=record, to=self.user(d.get("to")), rule=self.rule(entity, d.get("rule")))
            return f(Markup(self.t("Reassigned {record} from {frm} to {to}", "将 {record} 从 {frm} 改派给 {to}")),
                     record=record, frm=self.user(d.get("from")) if d.get("from") else self.t("nobody", "无人"),
                     to=self.user(d.get("to")))
        if action == "user.attributes":
            label, options = self.attribute(d.get("attribute"))
            values = d.get("values") if isinstance(d.get("values"), list) else []
            return f(Markup(self.t("Set the {attribute} of {user}: {values}", "设置 {user} 的{attribute}：{values}")),
                     attribute=label, user=self.user(d.get("user")),
                     values=self._join(options.get(v, v) for v in values) or self.t("none", "无"))
        if action == "export":
            filters = d.get("filters") if isinstance(d.get("filters"), list) else []
            ent = self.meta.entities.get(entity or "")
            names = [ent.field(f["field"]).label.get(self.lang) if ent and isinstance(f, dict) and f.get("field") in ent.fields
                     else str(f.get("field") if isinstance(f, dict) else f) for f in filters]
            by = self.t(f", filtered by {self._join(names)}", f"，筛选条件：{self._join(names)}") if names else ""
            search = self.t(f", searching “{d['search']}”", f"，搜索“{d['search']}”") if d.get("search") else ""
            return f(Markup(self.t("Exported {n} {what} as CSV{by}{search}", "导出 {n} 条{what}（CSV）{by}{search}")),
                     n=d.get("rows", 0), what=self.entity_label(entity, plural=d.get("rows") != 1), by=by, search=search)
        return self.generic(entry, d)

    def rule(self, entity: str | None, name) -> str:
        assignment = self.meta.assignment_for(entity) if entity else None
        for rule in (assignment.rules if assignment else ()):
            if rule.name == name:
                return rule.label.get(self.lang)
        return str(name)

    def attribute(self, name) -> tuple[str, dict]:
        """The label of a user attribute (that of the record field it is matched with) and
        the labels of its values (that field's options)."""
        for assignment in self.meta.assignments.values():
            fname = assignment.attributes().get(name)
            if fname is None:
                continue
            fld = self.meta.entity(assignment.entity).field(fname)
            picklist = self.meta.picklists.get(fld.picklist or "")
            options = {o.key: o.label.get(self.lang) for o in picklist.options} if picklist else {}
            return fld.label.get(self.lang), options
        return str(name), {}

    def user_changes(self, d: dict) -> Markup:
        names = {"display_name": self.t("name", "姓名"), "department_id": self.t("department", "部门"),
                 "roles": self.t("roles", "角色"), "teams": self.t("teams", "团队"),
                 "is_active": self.t("can sign in", "可登录"), "is_admin": self.t("administrator", "管理员")}
        parts = []
        for key, change in d.items():
            if not isinstance(change, dict):
                continue
            old, new = change.get("from"), change.get("to")
            if key == "department_id":
                old, new = self.department(old), self.department(new)
            elif key == "roles":
                old, new = self.roles(old), self.roles(new)
            elif key == "teams":
                old = self._join(self.teams.get(t, "?") for t in (old or [])) or self.t("none", "无")
                new = self._join(self.teams.get(t, "?") for t in (new or [])) or self.t("none", "无")
            elif isinstance(new, bool):
                old, new = self.yes_no(old), self.yes_no(new)
            parts.append(Markup("{} {} → {}").format(names.get(key, key.replace("_", " ")), old if old not in (None, "") else "—", new))
        return Markup("; " if not self.lang.startswith("zh") else "；").join(parts) or escape(self.t("no change", "无变化"))

    def yes_no(self, value) -> str:
        return self.t("yes", "是") if value else self.t("no", "否")

    def generic(self, entry: dict, d: dict) -> Markup:
        """An action this module does not know: its parts as "key: value", with names where
        the key says what the value is."""
        parts = []
        for key, value in d.items():
            if key in ("to", "from") or key.endswith("user_id") or key in ("delegate_id", "manager_id"):
                shown = self.user(value)
            elif key == "department_id":
                shown = self.department(value)
            elif isinstance(value, (list, tuple)):
                shown = self._join(value)
            elif isinstance(value, dict):
                shown = self._join(f"{k} {v}" for k, v in value.items())
            elif isinstance(value, bool):
                shown = self.yes_no(value)
            else:
                shown = value
            parts.append(Markup("{}: {}").format(key.replace("_", " "), shown))
        head = escape(self.action(entry["action"]))
        if entry.get("entity"):
            head += Markup(" {}").format(self.record(entry["entity"], entry.get("record_id")) if entry.get("record_id")
                                         else self.entity_label(entry["entity"], plural=True))
        return head + (Markup(" — ") + Markup("; ").join(parts) if parts else Markup(""))

    # ------------------------------------------------------------ page
    def lines(self, entries: list[dict]) -> list[Line]:
        self._prefetch(entries)
        return [Line(e, self.action(e["action"]), self.sentence(e), None) for e in entries]
