"""The organisation: departments (a tree with a manager each), teams, users and their roles.

Changing who belongs where is an administrator's job: every method here requires an admin
actor and writes an audit entry in the same transaction. Reading the tree is open to every
signed-in user (it names people, not records).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from kehu.errors import Forbidden, NotFound, RecordInvalid
from kehu.fields import limits
from kehu.fields.base import tr

CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
# the lengths of the columns these texts are kept in (db/tables.py)
TEXT_LIMITS = {"username": 80, "display_name": 120, "email": 255, "name": 120, "name_en": 120, "code": 40}


@dataclass(frozen=True)
class Department:
    id: int
    name: str
    name_en: str | None
    parent_id: int | None
    manager_id: int | None
    code: str | None = None

    def label(self, lang: str) -> str:
        return self.name_en if lang.startswith("en") and self.name_en else self.name


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def new_session_stamp() -> str:
    """A fresh value for ``kehu_user.session_stamp``: sessions signed in before it end."""
    return secrets.token_hex(16)


class OrgService:
    def __init__(self, site, actor, lang: str = "zh"):
        self.site = site
        self.actor = actor
        self.lang = lang
        self.t = site.tables

    def _t(self, en: str, zh: str) -> str:
        return tr(self.lang, en, zh)

    def _check_texts(self, **values) -> None:
        """Names and e-mails as typed: refused (one message per field) when they hold control
        characters or are longer than their column, before anything is written."""
        errors = {}
        for key, value in values.items():
            if value in (None, ""):
                continue
            problem = limits.text_problem(value, self.lang, max_length=TEXT_LIMITS[key])
            if problem:
                errors[key] = [problem]
        if errors:
            raise RecordInvalid(errors)

    def _require_admin(self) -> None:
        if self.actor is None or not self.actor.is_admin:
            raise Forbidden(self._t("Only administrators can change the organisation.", "只有管理员可以修改组织架构。"))

    # ------------------------------------------------------------ reading
    def departments(self, conn=None) -> dict[int, Department]:
        d = self.t.departments
        with self.site.reading(conn) as c:
            rows = c.execute(sa.select(d.c.id, d.c.name, d.c.name_en, d.c.parent_id, d.c.manager_id, d.c.code).order_by(d.c.id))
            return {r.id: Department(*r) for r in rows}

    def tree(self) -> list[tuple[int, Department]]:
        """Departments in tree order with their depth, for indented lists."""
        depts = self.departments()
        children: dict[int | None, list[Department]] = {}
        for dept in depts.values():
            parent = dept.parent_id if dept.parent_id in depts else None
            children.setdefault(parent, []).append(dept)
        out: list[tuple[int, Department]] = []

        def walk(parent, depth, seen):
            for dept in sorted(children.get(parent, []), key=lambda d: d.name):
                if dept.id in seen:
                    continue
                out.append((depth, dept))
                walk(dept.id, depth + 1, seen | {dept.id})

        walk(None, 0, frozenset())
        return out

    def subtree(self, root: int) -> set[int]:
        depts = self.departments()
        found, todo = set(), [root]
        while todo:
            current = todo.pop()
            if current in found:
                continue
            found.add(current)
            todo.extend(d.id for d in depts.values() if d.parent_id == current)
        return found

    def users(self, include_inactive: bool = True) -> list[dict]:
        u, r = self.t.users, self.t.user_roles
        with self.site.reading() as c:
            stmt = sa.select(u.c.id, u.c.username, u.c.display_name, u.c.email, u.c.is_active, u.c.is_admin,
                             u.c.department_id, u.c.locale).order_by(u.c.username)
            if not include_inactive:
                stmt = stmt.where(u.c.is_active.is_(True))
            users = [dict(row) for row in c.execute(stmt).mappings()]
            roles: dict[int, list[str]] = {}
            for user_id, role in c.execute(sa.select(r.c.user_id, r.c.role).order_by(r.c.role)):
                roles.setdefault(user_id, []).append(role)
            teams: dict[int, list[int]] = {}
            for team_id, user_id in c.execute(sa.select(self.t.team_members.c.team_id, self.t.team_members.c.user_id)):
                teams.setdefault(user_id, []).append(team_id)
        for user in users:
            user["roles"] = roles.get(user["id"], [])
            user["teams"] = teams.get(user["id"], [])
        return users

    def user(self, user_id: int) -> dict:
        for user in self.users():
            if user["id"] == user_id:
                return user
        raise NotFound(self._t("No such user.", "没有这个用户。"))

    def teams(self) -> list[dict]:
        t, m = self.t.teams, self.t.team_members
        with self.site.reading() as c:
            teams = [dict(r) for r in c.execute(sa.select(t.c.id, t.c.name).order_by(t.c.name)).mappings()]
            members: dict[int, list[int]] = {}
            for team_id, user_id in c.execute(sa.select(m.c.team_id, m.c.user_id)):
                members.setdefault(team_id, []).append(user_id)
        for team in teams:
            team["members"] = members.get(team["id"], [])
        return teams

    def managed_departments(self, user_id: int) -> set[int]:
        """The departments a user manages, with every department below them."""
        managed = [d.id for d in self.departments().values() if d.manager_id == user_id]
        out: set[int] = set()
        for dept in managed:
            out |= self.subtree(dept)
        return out

    def subordinates(self, user_id: int) -> list[dict]:
        """Active users in the departments below a manager (the manager excluded)."""
        depts = self.managed_departments(user_id)
        return [u for u in self.users(include_inactive=False) if u["department_id"] in depts and u["id"] != user_id]

    # ------------------------------------------------------------ changing
    def _check_roles(self, roles) -> list[str]:
        unknown = [r for r in roles if r not in self.site.metadata.roles]
        if unknown:
            raise RecordInvalid({"roles": [self._t(f"Unknown role: {', '.join(unknown)}", f"未知角色：{', '.join(unknown)}")]})
        return list(dict.fromkeys(roles))

    def _check_department(self, c, department_id) -> None:
        if department_id is not None and c.execute(
                sa.select(self.t.departments.c.id).where(self.t.departments.c.id == department_id)).first() is None:
            raise RecordInvalid({"department_id": [self._t("Choose an existing department.", "请选择存在的部门。")]})

    def _check_code(self, c, code: str | None, dept_id: int | None) -> str | None:
        """A department's code (what workflows and the department picklist name it by):
        optional, a lower-case identifier, unique."""
        code = (code or "").strip() or None
        if code is None:
            return None
        if not CODE.match(code):
            raise RecordInvalid({"code": [self._t(
                "Use lower-case letters, digits and _ (starting with a letter), e.g. finance.",
                "请使用小写字母、数字和下划线（以字母开头），例如 finance。")]})
        d = self.t.departments
        taken = c.execute(sa.select(d.c.id).where(d.c.code == code, d.c.id != (dept_id or 0))).first()
        if taken:
            raise RecordInvalid({"code": [self._t("Another department has this code.", "其他部门已使用此编码。")]})
        return code

    def create_department(self, name: str, *, name_en: str | None = None, parent_id: int | None = None,
                          manager_id: int | None = None, code: str | None = None, conn=None) -> int:
        self._require_admin()
        name = (name or "").strip()
        if not name:
            raise RecordInvalid({"name": [self._t("A department needs a name.", "请填写部门名称。")]})
        self._check_texts(name=name, name_en=name_en, code=code)
        d = self.t.departments
        with self.site.writing(conn) as c:
            self._check_department(c, parent_id)
            code = self._check_code(c, code, None)
            dept_id = c.execute(sa.insert(d).values(name=name, name_en=name_en or None, parent_id=parent_id, code=code,
                                                    manager_id=manager_id, created_at=_now()).returning(d.c.id)).scalar_one()
            self.site.audit(c, self.actor.id, "department.create", None, dept_id,
                            {"name": name, "parent_id": parent_id, "manager_id": manager_id})
            return dept_id

    def update_department(self, dept_id: int, *, name: str, name_en: str | None, parent_id: int | None,
                          manager_id: int | None, code: str | None = None) -> None:
        self._require_admin()
        if not (name or "").strip():
            raise RecordInvalid({"name": [self._t("A department needs a name.", "请填写部门名称。")]})
        self._check_texts(name=name.strip(), name_en=name_en, code=code)
        d = self.t.departments
        with self.site.writing() as c:
            self._check_department(c, dept_id)
            self._check_department(c, parent_id)
            if parent_id is not None and parent_id in self.subtree(dept_id):
                raise RecordInvalid({"parent_id": [self._t("A department cannot sit below itself.", "部门不能隶属于自身或其下级部门。")]})
            code = self._check_code(c, code, dept_id)
            c.execute(sa.update(d).where(d.c.id == dept_id).values(
                name=name.strip(), name_en=name_en or None, parent_id=parent_id, manager_id=manager_id, code=code))
            self.site.audit(c, self.actor.id, "department.update", None, dept_id,
                            {"name": name, "parent_id": parent_id, "manager_id": manager_id})

    def create_team(self, name: str, members=(), conn=None) -> int:
        self._require_admin()
        name = (name or "").strip()
        if not name:
            raise RecordInvalid({"name": [self._t("A team needs a name.", "请填写团队名称。")]})
        self._check_texts(name=name)
        t = self.t.teams
        with self.site.writing(conn) as c:
            if c.execute(sa.select(t.c.id).where(t.c.name == name)).first():
                raise RecordInvalid({"name": [self._t("This team name is taken.", "团队名称已被使用。")]})
            team_id = c.execute(sa.insert(t).values(name=name, created_at=_now()).returning(t.c.id)).scalar_one()
            if members:
                c.execute(sa.insert(self.t.team_members), [{"team_id": team_id, "user_id": u} for u in members])
            self.site.audit(c, self.actor.id, "team.create", None, team_id, {"name": name, "members": list(members)})
            return team_id

    def set_team_members(self, team_id: int, members) -> None:
        self._require_admin()
        m = self.t.team_members
        with self.site.writing() as c:
            c.execute(sa.delete(m).where(m.c.team_id == team_id))
            if members:
                c.execute(sa.insert(m), [{"team_id": team_id, "user_id": u} for u in dict.fromkeys(members)])
            self.site.audit(c, self.actor.id, "team.members", None, team_id, {"members": list(members)})

    def create_user(self, username: str, password: str, display_name: str, *, department_id=None, roles=(),
                    teams=(), is_admin=False, email=None, locale="zh", conn=None) -> int:
        self._require_admin()
        username = (username or "").strip()
        errors = {}
        if not username:
            errors["username"] = [self._t("A username is needed.", "请填写用户名。")]
        if len(password or "") < 8:
            errors["password"] = [self._t("Use at least 8 characters.", "密码至少 8 位。")]
        if not (display_name or "").strip():
            errors["display_name"] = [self._t("A name is needed.", "请填写姓名。")]
        if errors:
            raise RecordInvalid(errors)
        self._check_texts(username=username, display_name=display_name.strip(), email=email)
        roles = self._check_roles(roles)
        with self.site.writing(conn) as c:
            self._check_department(c, department_id)
            if c.execute(sa.select(self.t.users.c.id).where(self.t.users.c.username == username)).first():
                raise RecordInvalid({"username": [self._t("This username is taken.", "用户名已被使用。")]})
            user_id = self.site.create_user(username, password, display_name.strip(), is_admin=is_admin, email=email,
                                            locale=locale, department_id=department_id, roles=roles, teams=teams, conn=c)
            self.site.audit(c, self.actor.id, "user.create", None, user_id,
                            {"username": username, "department_id": department_id, "roles": roles, "is_admin": is_admin})
            return user_id

    def update_user(self, user_id: int, *, display_name: str, department_id, roles, teams, is_active: bool,
                    is_admin: bool, email=None, locale="zh") -> None:
        """Change a user; role, department, team and activation changes apply on their next request."""
        self._require_admin()
        if not (display_name or "").strip():
            raise RecordInvalid({"display_name": [self._t("A name is needed.", "请填写姓名。")]})
        self._check_texts(display_name=display_name.strip(), email=email)
        roles = self._check_roles(roles)
        if user_id == self.actor.id and (not is_active or not is_admin):
            raise RecordInvalid({"is_active": [self._t("You cannot deactivate or demote yourself.", "不能停用或降级自己。")]})
        u, r, m = self.t.users, self.t.user_roles, self.t.team_members
        before = self.user(user_id)
        with self.site.writing() as c:
            self._check_department(c, department_id)
            stamp = {"session_stamp": new_session_stamp()} if bool(before["is_active"]) != bool(is_active) else {}
            c.execute(sa.update(u).where(u.c.id == user_id).values(
                display_name=display_name.strip(), department_id=department_id, is_active=is_active,
                is_admin=is_admin, email=email or None, locale=locale, **stamp))
            c.execute(sa.delete(r).where(r.c.user_id == user_id))
            if roles:
                c.execute(sa.insert(r), [{"user_id": user_id, "role": role} for role in roles])
            c.execute(sa.delete(m).where(m.c.user_id == user_id))
            if teams:
                c.execute(sa.insert(m), [{"user_id": user_id, "team_id": t} for t in dict.fromkeys(teams)])
            # roles and teams are sets: compare them in one order, so the audit lists real changes only
            before = {**before, "roles": sorted(before["roles"]), "teams": sorted(set(before["teams"]))}
            after = {"display_name": display_name, "department_id": department_id, "roles": sorted(roles),
                     "teams": sorted(set(teams)), "is_active": is_active, "is_admin": is_admin}
            changed = {k: {"from": before.get(k), "to": v} for k, v in after.items() if before.get(k) != v}
            self.site.audit(c, self.actor.id, "user.update", None, user_id, changed)

    def reset_password(self, user_id: int, password: str) -> None:
        self._require_admin()
        if len(password or "") < 8:
            raise RecordInvalid({"password": [self._t("Use at least 8 characters.", "密码至少 8 位。")]})
        u = self.t.users
        with self.site.writing() as c:
            c.execute(sa.update(u).where(u.c.id == user_id).values(password_hash=self.site.hash_password(password),
                                                                 session_stamp=new_session_stamp()))
            self.site.audit(c, self.actor.id, "user.password", None, user_id, {})

    def audit_log(self, limit: int = 200, offset: int = 0) -> list[dict]:
        """Audit entries, newest first: ``limit`` of them after skipping ``offset``."""
        self._require_admin()
        a, u = self.t.audit, self.t.users
        with self.site.reading() as c:
            stmt = (sa.select(a, u.c.display_name.label("actor_name")).select_from(a.outerjoin(u, u.c.id == a.c.actor_id))
                    .order_by(a.c.id.desc()).limit(limit).offset(offset))
            return [dict(r) for r in c.execute(stmt).mappings()]

    def audit_count(self) -> int:
        self._require_admin()
        with self.site.reading() as c:
            return c.execute(sa.select(sa.func.count()).select_from(self.t.audit)).scalar_one()
