"""A site: one database, its metadata snapshot, tables and services. Never a module global."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import time
from pathlib import Path

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from kehu.attachments import AttachmentStore
from kehu.db import sync
from kehu.db.engine import is_lock_timeout, make_engine
from kehu.db.tables import build_tables
from kehu.metadata.loader import base_pack_path, discover_packs, load_metadata
from kehu.plugins import field_type_registry, make_plugin_manager
from kehu.records.service import Actor, RecordService

SYSTEM_ACTOR = Actor(id=None, username="system", display_name="System", is_admin=True)

# plan steps without which pages fail: a table or column the metadata has and the database
# lacks, or a column of another type (retiring a column or adding an index can wait)
BLOCKING_STEPS = ("create_table", "add_column", "rename_column", "widen_column", "change_type")


class Site:
    def __init__(self, database_url: str, pack_dirs: list[Path], instance_path: Path, plugins=(),
                 password_method: str | None = None):
        self.pm = make_plugin_manager(plugins)
        # werkzeug's method string ("scrypt", "pbkdf2:sha256:600000", ...); None: werkzeug's default
        self.password_method = password_method
        self.field_types = field_type_registry(self.pm)
        extra = [Path(p) for group in self.pm.hook.register_packs() for p in group]
        self.pack_dirs = list(pack_dirs) + extra
        self.metadata = load_metadata(self.pack_dirs, self.field_types)
        self.tables = build_tables(self.metadata, self.field_types)
        self.engine = make_engine(database_url)
        self.instance_path = Path(instance_path)
        self.attachments = AttachmentStore(self.instance_path / "attachments")
        self._schema_ok_until = 0.0  # see schema_is_current()
        self._schema_lag_until = 0.0
        self._schema_accepted: str | None = None

    @classmethod
    def from_settings(cls, settings: dict) -> "Site":
        base = settings.get("BASE_PACK", base_pack_path())
        plugins_dir = settings.get("PLUGINS_DIR", Path(base) / "plugins" if base else None)
        packs = discover_packs(Path(base) if base else None, plugins_dir, settings.get("PACKS", []))
        return cls(settings["DATABASE_URL"], packs, Path(settings["INSTANCE_PATH"]), settings.get("PLUGINS", ()),
                   password_method=settings.get("PASSWORD_HASH_METHOD"))

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

    def migrate(self, force: bool = False, lock_timeout: float = 5.0, attempts: int = 3, progress=None) -> sync.Plan:
        """Apply the plan. On PostgreSQL each attempt waits at most ``lock_timeout`` seconds
        for a table lock (``progress(step)`` hears of each step as it is applied); a busy table is tried ``attempts`` times with a growing pause, then
        :class:`kehu.db.sync.MigrationBusy` (nothing changed)."""
        for attempt in range(1, attempts + 1):
            try:
                return sync.apply(self.engine, self.metadata, self.tables, force=force, lock_timeout=lock_timeout,
                                  progress=progress)
            except sa.exc.OperationalError as exc:
                if not is_lock_timeout(exc):
                    raise
                if attempt == attempts:
                    raise sync.MigrationBusy(
                        f"The database is busy: another connection held a lock on a table this migration changes "
                        f"for more than {lock_timeout:g} s, {attempts} times. Nothing was changed. Run it again when "
                        f"the database is quieter (long queries: pg_stat_activity).") from None
                time.sleep(min(30.0, lock_timeout * 2 ** (attempt - 1)))
        raise AssertionError("unreachable")

    # ------------------------------------------------------- schema check
    SCHEMA_CHECK_SECONDS = 5.0

    def schema_is_current(self) -> bool:
        """Whether the database holds what this site's metadata needs, so pages can run.

        Cheap: while it is, the answer is kept for a few seconds; then one read of the
        metadata version the last ``kehu migrate`` stored. Only when that differs from this
        site's version (a worker started before or without a migrate, or metadata that
        changed only labels) is the schema compared (the plan, at most once per interval);
        a plan without blocking steps is accepted for that stored version. Nothing here
        runs at start-up: an app may be created before its database is migrated."""
        now = time.monotonic()
        if now < self._schema_ok_until:
            return True
        stored = self._stored_version()
        if stored is not None and stored in (self.metadata.version, self._schema_accepted):
            self._schema_ok_until = now + self.SCHEMA_CHECK_SECONDS
            return True
        if now < self._schema_lag_until:
            return False
        if any(step.kind in BLOCKING_STEPS for step in self.plan().steps):
            self._schema_lag_until = now + self.SCHEMA_CHECK_SECONDS
            return False
        self._schema_accepted = stored
        self._schema_ok_until = now + self.SCHEMA_CHECK_SECONDS
        return True

    def _stored_version(self) -> str | None:
        meta = self.tables.meta
        try:
            with self.reading() as c:
                return c.execute(sa.select(meta.c.value).where(meta.c.key == "metadata_version")).scalar()
        except (sa.exc.ProgrammingError, sa.exc.OperationalError) as exc:
            if isinstance(exc, sa.exc.ProgrammingError) or "no such table" in str(exc.orig):
                return None  # never migrated
            raise

    # ----------------------------------------------------------------- users
    def hash_password(self, password: str) -> str:
        """A salted hash of ``password`` with the site's method (setting ``PASSWORD_HASH_METHOD``)."""
        if self.password_method:
            return generate_password_hash(password, method=self.password_method)
        return generate_password_hash(password)

    def create_user(self, username: str, password: str, display_name: str, *, is_admin=False, locale="zh",
                    email=None, department_id=None, roles=(), teams=(), conn=None) -> int:
        """Create a user (no permission check: the CLI, the demo and admin pages call this)."""
        users = self.tables.users
        with self.writing(conn) as c:
            user_id = c.execute(sa.insert(users).values(
                username=username, display_name=display_name, password_hash=self.hash_password(password),
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
            check_password_hash(self.hash_password("x"), password)  # same work either way
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
