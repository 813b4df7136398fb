"""A site: one database, its metadata snapshot, tables and services. Never a module global."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from pathlib import Path

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from kehu.attachments import AttachmentStore
from kehu.db import sync
from kehu.db.engine import make_engine
from kehu.db.tables import build_tables
from kehu.metadata.loader import base_pack_path, discover_packs, load_metadata
from kehu.plugins import field_type_registry, make_plugin_manager
from kehu.records.service import Actor, RecordService

SYSTEM_ACTOR = Actor(id=None, username="system", display_name="System", is_admin=True)


class Site:
    def __init__(self, database_url: str, pack_dirs: list[Path], instance_path: Path, plugins=()):
        self.pm = make_plugin_manager(plugins)
        self.field_types = field_type_registry(self.pm)
        extra = [Path(p) for group in self.pm.hook.register_packs() for p in group]
        self.pack_dirs = list(pack_dirs) + extra
        self.metadata = load_metadata(self.pack_dirs, self.field_types)
        self.tables = build_tables(self.metadata, self.field_types)
        self.engine = make_engine(database_url)
        self.instance_path = Path(instance_path)
        self.attachments = AttachmentStore(self.instance_path / "attachments")

    @classmethod
    def from_settings(cls, settings: dict) -> "Site":
        base = settings.get("BASE_PACK", base_pack_path())
        plugins_dir = settings.get("PLUGINS_DIR", Path(base) / "plugins" if base else None)
        packs = discover_packs(Path(base) if base else None, plugins_dir, settings.get("PACKS", []))
        return cls(settings["DATABASE_URL"], packs, Path(settings["INSTANCE_PATH"]), settings.get("PLUGINS", ()))

    # --------------------------------------------------------- connections
    @contextlib.contextmanager
    def reading(self, conn=None):
        if conn is not None:
            yield conn
            return
        with self.engine.connect() as c:
            yield c
            c.rollback()

    @contextlib.contextmanager
    def writing(self, conn=None):
        """A write transaction (BEGIN IMMEDIATE on SQLite); nested use joins the outer one."""
        if conn is not None:
            yield conn
            return
        with self.engine.connect().execution_options(kehu_write=True) as c:
            with c.begin():
                yield c

    # ------------------------------------------------------------- services
    def records(self, actor: Actor, lang: str | None = None) -> RecordService:
        return RecordService(self, actor, lang)

    def plan(self) -> sync.Plan:
        return sync.plan(self.engine, self.metadata, self.tables)

    def migrate(self, force: bool = False) -> sync.Plan:
        return sync.apply(self.engine, self.metadata, self.tables, force=force)

    # ----------------------------------------------------------------- users
    def create_user(self, username: str, password: str, display_name: str, *, is_admin=False, locale="zh",
                    email=None, department_id=None, roles=(), teams=(), conn=None) -> int:
        """Create a user (no permission check: the CLI, the demo and admin pages call this)."""
        users = self.tables.users
        with self.writing(conn) as c:
            user_id = c.execute(sa.insert(users).values(
                username=username, display_name=display_name, password_hash=generate_password_hash(password),
                is_admin=is_admin, is_active=True, locale=locale, email=email, department_id=department_id,
                created_at=dt.datetime.now().replace(microsecond=0), session_stamp=secrets.token_hex(16),
            ).returning(users.c.id)).scalar_one()
            if roles:
                c.execute(sa.insert(self.tables.user_roles), [{"user_id": user_id, "role": r} for r in roles])
            if teams:
                c.execute(sa.insert(self.tables.team_members), [{"user_id": user_id, "team_id": t} for t in teams])
            return user_id

    def audit(self, conn, actor_id: int | None, action: str, entity: str | None = None,
              record_id: int | None = None, detail: dict | None = None) -> None:
        """Record who did what (permission changes, assignments, shares, admin actions)."""
        import json

        conn.execute(sa.insert(self.tables.audit).values(
            at=dt.datetime.now().replace(microsecond=0), actor_id=actor_id, action=action, entity=entity,
            record_id=record_id, detail=json.dumps(detail or {}, ensure_ascii=False, default=str)))

    def user(self, user_id: int) -> dict | None:
        users = self.tables.users
        with self.reading() as c:
            row = c.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
        return dict(row) if row else None

    def authenticate(self, username: str, password: str) -> dict | None:
        users = self.tables.users
        with self.reading() as c:
            row = c.execute(sa.select(users).where(users.c.username == username)).mappings().first()
        if row is None:
            check_password_hash(generate_password_hash("x"), password)  # same work either way
            return None
        if not row["is_active"] or not check_password_hash(row["password_hash"], password):
            return None
        return dict(row)

    def actor(self, user: dict) -> Actor:
        return Actor(user["id"], user["username"], user["display_name"], bool(user["is_admin"]), user.get("locale") or "zh")

    def user_count(self) -> int:
        with self.reading() as c:
            return c.execute(sa.select(sa.func.count()).select_from(self.tables.users)).scalar_one()

    def user_choices(self, term: str = "", limit: int = 20) -> list[tuple[int, str]]:
        users = self.tables.users
        stmt = sa.select(users.c.id, users.c.display_name).where(users.c.is_active.is_(True))
        if term:
            stmt = stmt.where(sa.or_(users.c.display_name.icontains(term, autoescape=True),
                                     users.c.username.icontains(term, autoescape=True)))
        with self.reading() as c:
            return [tuple(r) for r in c.execute(stmt.order_by(users.c.display_name).limit(limit))]
