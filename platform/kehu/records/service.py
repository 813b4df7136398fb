"""The record service: every create, read, update, delete, list, search and count.

Views, the API, exports and the demo loader go through here, so validation, coding rules,
formulas, optimistic locking, history, permissions and plugin hooks apply on every path.
Permissions are a predicate from :class:`kehu.records.policy.Policy`, added to every query.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable

import sqlalchemy as sa
from marshmallow import ValidationError

from kehu import expressions
from kehu.db.engine import is_disk_full
from kehu.errors import Conflict, Forbidden, Locked, NotFound, RecordInvalid
from kehu.fields import limits
from kehu.fields.base import tr
from kehu.metadata.model import SYSTEM_FIELDS, Entity, Field
from kehu.records import coding
from kehu.records.labels import DELETED, NO_ACCESS, Unreadable
from kehu.records.policy import Policy
from kehu.records.query import ListQuery

SERVER_OWNED = set(SYSTEM_FIELDS) | {"row_version", "workflow_state", "deleted_at", "deleted_by"}
ONCE_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class Actor:
    """The person a service acts for."""

    id: int | None
    username: str = "system"
    display_name: str = "System"
    is_admin: bool = False
    locale: str = "zh"


COUNT_CAP = 500


@dataclass
class Page:
    rows: list[dict]
    total: int
    page: int
    per_page: int
    labels: dict[tuple[str, int], str] = field(default_factory=dict)
    total_is_exact: bool = True

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total


class RecordService:
    def __init__(self, site, actor: Actor, lang: str | None = None):
        self.site = site
        self.actor = actor
        self.lang = lang or actor.locale or "zh"
        self.meta = site.metadata
        self.tables = site.tables
        self.types = site.field_types
        self.policy = Policy(site, actor)
        self._new_files: list[str] = []

    @property
    def ownership(self):
        """Assign, share, transfer and explain: the actions that change who may use a record."""
        from kehu.records.ownership import Ownership

        return Ownership(self)

    @property
    def approvals(self):
        """Submit, approve, reject, recall, reassign, delegate: the record's workflows."""
        from kehu.records.workflow import Approvals

        return Approvals(self)

    @property
    def dispatch(self):
        """Assignment rules, the dispatch board and reassigning a record's assignee."""
        from kehu.records.dispatch import Dispatch

        return Dispatch(self)

    @property
    def personal(self):
        """The actor's notifications, favourites and recently changed records."""
        from kehu.records.personal import Personal

        return Personal(self)

    @property
    def conversion(self):
        """Lead conversion: a lead becomes a customer, a contact and an opportunity."""
        from kehu.records.conversion import Conversion

        return Conversion(self)

    @property
    def drafts(self):
        """Unsaved records for a new form: defaults, URL parameters and lookup fills."""
        from kehu.records.drafts import Drafts

        return Drafts(self)

    def locked(self, record: dict) -> bool:
        """Whether the record waits for approval, so the actor may not change it (admins may)."""
        return record.get("workflow_state") == "pending" and not self.actor.is_admin

    def refuse_if_locked(self, entity: Entity, record: dict) -> None:
        if self.locked(record):
            raise Locked(self.t(
                f"This {entity.label.en.lower()} is waiting for approval and cannot be changed until it is approved, rejected or recalled.",
                f"此{entity.label.zh}正在审批中，审批通过、驳回或撤回之前不能修改。"))

    # ---------------------------------------------------------------- helpers
    def entity(self, name: str) -> Entity:
        entity = self.meta.entities.get(name)
        if entity is None:
            raise NotFound(tr(self.lang, f"No such page: {name}", f"没有这个页面：{name}"))
        return entity

    def record_entity(self, name: str) -> Entity:
        """An entity whose records are changed on their own. Lines (``child_of``) are
        changed only inside their parent's form, where the parent's permissions and approval
        lock apply, so for them this is "no such page", like an unknown entity."""
        entity = self.entity(name)
        if entity.child_of:
            raise NotFound(tr(self.lang, f"No such page: {name}", f"没有这个页面：{name}"))
        return entity

    def t(self, en: str, zh: str) -> str:
        return tr(self.lang, en, zh)

    def _visible(self, entity: Entity, table: sa.Table, deleted: bool = False):
        live = table.c.deleted_at.is_not(None) if deleted else table.c.deleted_at.is_(None)
        return sa.and_(live, self.policy.read_predicate(entity, table))

    def _not_found(self, entity: Entity, record_id) -> NotFound:
        return NotFound(self.t(f"{entity.label.en} {record_id} does not exist or you cannot see it.",
                               f"{entity.label.zh} {record_id} 不存在或您无权查看。"))

    # ------------------------------------------------------------------ read
    def get(self, entity_name: str, record_id: int, *, deleted: bool = False, conn=None) -> dict:
        """A record the actor can read, without the fields hidden from them (404 otherwise)."""
        entity = self.entity(entity_name)
        return self._strip(entity, self._fetch(entity, record_id, deleted=deleted, conn=conn))

    def _strip(self, entity: Entity, record: dict) -> dict:
        """The record without the fields hidden from the actor (child lines too)."""
        hidden = self.policy.hidden_fields(entity)
        out = {k: v for k, v in record.items() if k not in hidden}
        for child in entity.child_tables():
            if isinstance(out.get(child.name), list):
                centity = self.meta.entity(child.target)
                if self.policy.hidden_fields(centity):
                    out[child.name] = [self._strip(centity, line) for line in out[child.name]]
        return out

    def _fetch(self, entity: Entity, record_id: int, *, deleted: bool = False, conn=None) -> dict:
        """The whole stored record (hidden fields included) if the actor can read it."""
        table = self.tables[entity.name]
        if isinstance(record_id, int) and not 0 < record_id <= limits.ID_MAX:  # no such id can exist
            raise self._not_found(entity, record_id)
        stmt = sa.select(table).where(table.c.id == record_id, self._visible(entity, table, deleted))
        with self.site.reading(conn) as c:
            row = c.execute(stmt).mappings().first()
            if row is None:
                raise self._not_found(entity, record_id)
            record = dict(row)
            for child in entity.child_tables():
                record[child.name] = self._children(c, child, record_id)
        return record

    def _children(self, conn, child: Field, parent_id: int) -> list[dict]:
        table = self.tables[child.target]
        link = child.get("link_field")
        rows = conn.execute(
            sa.select(table).where(table.c[link] == parent_id, table.c.deleted_at.is_(None)).order_by(table.c.id)
        ).mappings()
        return [dict(r) for r in rows]

    def list(self, entity_name: str, query: ListQuery, columns: Iterable[str] | None = None,
             exact_count: bool = False) -> Page:
        """One page of records: one count, one select of the shown columns, one label
        query per lookup target. The cost does not grow with the page's rows.

        The count stops at ``COUNT_CAP`` rows or just past the page (lists then say "500+", as
        Salesforce and Dynamics do), so a broad filter over a large table stays fast."""
        entity = self.entity(entity_name)
        table = self.tables[entity.name]
        hidden = self.policy.hidden_fields(entity)
        names = ["id", "row_version", "workflow_state"] + [
            c for c in (columns or [f.name for f in entity.fields.values()])
            if c in table.c and c not in ("id", "row_version", "workflow_state") and c not in hidden
        ]
        where = self._where(entity, table, query)
        order = self._order(entity, table, query)
        stmt = (sa.select(*[table.c[n] for n in names]).where(where).order_by(*order)
                .limit(query.per_page).offset((query.page - 1) * query.per_page))
        cap = None if exact_count else max(COUNT_CAP, query.page * query.per_page) + 1
        counted = sa.select(table.c.id).where(where)
        if cap is not None:
            counted = counted.limit(cap)
        with self.site.reading() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(counted.subquery())).scalar_one()
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
            labels = self.labels_for(entity, rows, names, conn)
        exact = cap is None or total < cap
        return Page(rows, total if exact else cap - 1, query.page, query.per_page, labels, exact)

    EXPORT_LIMIT = 100_000

    def export(self, entity_name: str, query: ListQuery, columns: Iterable[str]) -> tuple[list, Iterable[tuple[dict, dict]]]:
        """Records the actor may *export* (the role's export level, not its read level), in
        batches, each with the labels of its lookups; hidden fields are never included.

        Each export is written to the audit log before any row is read: who, the entity,
        the filters and search, and how many rows it holds.

        Returns (the fields exported, an iterator of (row, labels))."""
        entity = self.entity(entity_name)
        self.policy.require(entity, "export")
        table = self.tables[entity.name]
        hidden = self.policy.hidden_fields(entity)
        fields = [entity.field(c) for c in columns if c in table.c and c not in hidden]
        names = ["id"] + [f.name for f in fields if f.name != "id"]
        where = self._where(entity, table, query, "export")
        stmt = (sa.select(*[table.c[n] for n in names]).where(where)
                .order_by(*self._order(entity, table, query)).limit(self.EXPORT_LIMIT))
        with self.site.writing() as c:
            rows = c.execute(sa.select(sa.func.count()).select_from(
                sa.select(table.c.id).where(where).limit(self.EXPORT_LIMIT).subquery())).scalar_one()
            self.site.audit(c, self.actor.id, "export", entity.name, None, {
                "filters": [{"field": f.field, "op": f.op, "values": list(f.raw)} for f in query.filters],
                "search": query.q or None, "deleted": query.deleted, "rows": rows})

        def batches():
            with self.site.reading() as conn:
                result = conn.execute(stmt).mappings()
                while chunk := result.fetchmany(1000):
                    rows = [dict(r) for r in chunk]
                    labels = self.labels_for(entity, rows, names, conn)
                    for row in rows:
                        yield row, labels

        return fields, batches()

    def count(self, entity_name: str, query: ListQuery | None = None) -> int:
        entity = self.entity(entity_name)
        table = self.tables[entity.name]
        with self.site.reading() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(table)
                                .where(self._where(entity, table, query or ListQuery()))).scalar_one()

    def _where(self, entity: Entity, table: sa.Table, query: ListQuery, action: str = "read"):
        live = table.c.deleted_at.is_not(None) if query.deleted else table.c.deleted_at.is_(None)
        clauses = [live, self.policy.predicate(entity, table, action)]
        hidden = self.policy.hidden_fields(entity)
        for flt in query.filters:
            if flt.field in hidden:  # the query parser refuses these; never filter on what one cannot see
                raise Forbidden(self.t(f"Cannot filter by '{flt.field}'.", f"不能按“{flt.field}”筛选。"))
            fld = entity.field(flt.field)
            clauses.append(self.types[fld.type].filter_clause(table.c[flt.field], flt.op, list(flt.values)))
        if query.q:
            searchable = [table.c[n] for n in entity.search_fields if n in table.c and n not in hidden]
            # nothing the actor may search in: a search matches nothing (fail closed)
            clauses.append(sa.or_(*[c.icontains(query.q, autoescape=True) for c in searchable])
                           if searchable else sa.false())
        return sa.and_(*clauses)

    def _order(self, entity: Entity, table: sa.Table, query: ListQuery):
        name, desc = query.sort or (entity.default_sort.lstrip("-"), entity.default_sort.startswith("-"))
        if name in self.policy.hidden_fields(entity):
            name = "created_at"
        column = table.c[name] if name in table.c else table.c.created_at
        return [column.desc() if desc else column.asc(), table.c.id.desc() if desc else table.c.id.asc()]

    def labels_for(self, entity: Entity, rows: list[dict], names: Iterable[str], conn) -> dict[tuple[str, int], str]:
        """Display labels of every lookup and user value in ``rows``: one query per target.

        A target the actor cannot read, or one that was deleted, gets an :class:`Unreadable`
        label ("(no access)", "(deleted)") instead of its title: one more query per target,
        only when some are missing, that reads whether they exist, never their titles."""
        wanted: dict[str, set[int]] = {}
        for name in names:
            fld = entity.fields.get(name)
            if fld is None or fld.type not in ("lookup", "user"):
                continue
            target = fld.target if fld.type == "lookup" else "kehu_user"
            wanted.setdefault(target, set()).update(r[name] for r in rows if isinstance(r.get(name), int))
        labels: dict[tuple[str, int], str] = {}
        for target, ids in wanted.items():
            if not ids:
                continue
            if target == "kehu_user":
                users = self.tables.users
                result = conn.execute(sa.select(users.c.id, users.c.display_name).where(users.c.id.in_(ids)))
            else:
                tentity = self.meta.entity(target)
                ttable = self.tables[target]
                title, _shown = self._title_column(tentity, ttable)
                result = conn.execute(sa.select(ttable.c.id, title).where(
                    ttable.c.id.in_(ids), self._visible(tentity, ttable)))
            for rid, label in result:
                labels[(target, rid)] = str(label) if label not in (None, "") else f"#{rid}"
            missing = sorted(i for i in ids if (target, i) not in labels)
            if missing and target != "kehu_user":
                ttable = self.tables[target]
                live = {rid for (rid,) in conn.execute(sa.select(ttable.c.id).where(
                    ttable.c.id.in_(missing), ttable.c.deleted_at.is_(None)))}
                for rid in missing:
                    labels[(target, rid)] = Unreadable(NO_ACCESS if rid in live else DELETED, self.lang)
        return labels

    def _title_column(self, entity: Entity, table: sa.Table):
        """(the column naming a record, whether it is the title field): the id when the
        title field is hidden from the actor."""
        shown = entity.title_field in table.c and entity.title_field not in self.policy.hidden_fields(entity)
        return (table.c[entity.title_field] if shown else table.c.id), shown

    def title_of(self, entity: Entity, record: dict) -> str:
        value = record.get(entity.title_field)
        return str(value) if value not in (None, "") else f"{entity.label.get(self.lang)} #{record.get('id')}"

    def visible_titles(self, entity_name: str, ids: Iterable[int]) -> dict[int, str]:
        """The titles of those of ``ids`` the actor can read, in one query. A deleted record or
        one they cannot see is simply absent; a title field hidden from them reads "Entity #id"."""
        entity = self.entity(entity_name)
        wanted = {i for i in ids if isinstance(i, int) and not isinstance(i, bool)}
        if not wanted:
            return {}
        table = self.tables[entity.name]
        title, shown = self._title_column(entity, table)
        stmt = sa.select(table.c.id, title).where(table.c.id.in_(sorted(wanted)), self._visible(entity, table))
        with self.site.reading() as conn:
            rows = conn.execute(stmt).all()
        return {rid: self.title_of(entity, {"id": rid, entity.title_field: text if shown else None}) for rid, text in rows}

    def search_lookup(self, entity_name: str, term: str, limit: int = 10) -> list[tuple[int, str]]:
        """Type-ahead for lookups: records of ``entity_name`` the actor can read."""
        entity = self.entity(entity_name)
        table = self.tables[entity.name]
        title, _shown = self._title_column(entity, table)
        problem = limits.text_problem(term or "", self.lang)
        if problem:  # a control character never reaches the database (PostgreSQL refuses NUL)
            raise RecordInvalid({"q": [problem]})
        query = ListQuery(q=(term or "").strip()[:100], per_page=limit)
        stmt = (sa.select(table.c.id, title).where(self._where(entity, table, query))
                .order_by(title).limit(min(limit, 50)))
        with self.site.reading() as conn:
            return [(rid, str(label) if label not in (None, "") else f"#{rid}") for rid, label in conn.execute(stmt)]

    def history(self, entity_name: str, record_id: int) -> list[dict]:
        entity = self.entity(entity_name)
        self.get(entity.name, record_id)  # the same visibility rule as the record
        hist, users = self.tables.history, self.tables.users
        stmt = (sa.select(hist, users.c.display_name.label("user_name"))
                .select_from(hist.outerjoin(users, users.c.id == hist.c.user_id))
                .where(hist.c.entity == entity.name, hist.c.record_id == record_id)
                .order_by(hist.c.id.desc()).limit(500))
        hidden = self.policy.hidden_fields(entity)
        with self.site.reading() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings() if r["field"] not in hidden]

    # --------------------------------------------------------------- writing
    def new_record(self, entity_name: str) -> dict:
        """Default values of a new record, for an empty form."""
        entity = self.entity(entity_name)
        record = {}
        for fld in entity.user_fields():
            value = self.types[fld.type].default(fld)
            if value is not None:
                record[fld.name] = value
        for child in entity.child_tables():
            record[child.name] = []
        return record

    def check(self, entity_name: str, data: dict, record_id: int | None = None) -> tuple[dict, dict[str, list[str]]]:
        """Validate without saving: (values with formulas computed, errors by field).

        Used for field-by-field validation and live totals while a form is being filled in.
        Attachments are not accepted here (nothing is stored)."""
        entity = self.entity(entity_name)
        data = {k: v for k, v in data.items() if not (k in entity.fields and entity.field(k).type == "attachment")}
        with self.site.reading() as c:
            existing = self._fetch(entity, record_id, conn=c) if record_id else None
            values = dict(existing) if existing else self.new_record(entity.name)
            errors: dict[str, list[str]] = {}
            values.update(self._load(entity, data, partial=existing is not None, errors=errors))
            try:
                self._prepare(entity, values, existing, c, errors)
            except RecordInvalid as exc:
                return self._strip(entity, values), exc.errors
        return self._strip(entity, values), {}

    @contextlib.contextmanager
    def _saving(self):
        """Undo what a failed save did outside the database (stored attachment files), and
        turn a unique index that caught a race into a validation message."""
        self._new_files = []
        try:
            yield
        except sa.exc.IntegrityError:
            self._discard_files()
            raise RecordInvalid({"_record": [self.t(
                "Another record was saved with one of these unique values at the same moment; nothing was saved.",
                "另一条记录同时保存了相同的唯一值；本次未保存。")]}) from None
        except sa.exc.OperationalError as exc:
            self._discard_files()
            if not is_disk_full(exc):
                raise
            raise RecordInvalid({"_record": [self.t(
                "The server's disk is full, so nothing was saved. Try again later, or ask an administrator to free space; what you typed is still here.",
                "服务器磁盘已满，本次未保存。请稍后重试，或请管理员释放磁盘空间；您填写的内容仍保留在此。")]}) from None
        except BaseException:
            self._discard_files()
            raise

    def _discard_files(self) -> None:
        for value in self._new_files:
            try:
                self.site.attachments.path(json.loads(value)).unlink(missing_ok=True)
            except (FileNotFoundError, ValueError, KeyError):
                pass
        self._new_files = []

    def create(self, entity_name: str, data: dict, *, conn=None, once: str | None = None) -> dict:
        """Create a record. ``once``: the request's one-time key (a create form's hidden
        token; an API's ``Idempotency-Key``). The first create with a key stores it with the
        new record's id, in the same transaction; a repeat (a double click, a client retry,
        even at the same moment) creates nothing and returns that record."""
        with self._saving():
            return self._create(entity_name, data, conn, once)

    @staticmethod
    def new_once_key() -> str:
        """A fresh one-time key for a create form."""
        return secrets.token_urlsafe(24)

    def _create(self, entity_name: str, data: dict, conn, once: str | None = None) -> dict:
        entity = self.record_entity(entity_name)
        self.policy.require(entity, "create")
        values = self.new_record(entity.name)
        errors: dict[str, list[str]] = {}
        values.update(self._load(entity, data, partial=False, errors=errors))
        with self.site.writing(conn) as c:
            if once is not None:
                done = self._take_once_key(c, entity, once)
                if done is not None:  # a repeat: the record its first request created
                    self._discard_files()
                    return self.get(entity.name, done, conn=c)
            children = self._prepare(entity, values, None, c, errors)
            now = _now()
            row = {k: v for k, v in values.items() if k in self.tables[entity.name].c}
            row.update(owner=self.actor.id, created_at=now, created_by=self.actor.id,
                       updated_at=now, updated_by=self.actor.id, row_version=1)
            for fld in entity.user_fields():
                if fld.type == "autonumber":
                    row[fld.name] = coding.next_code(c, self.tables.counters, entity.name, fld.name, fld.get("format"))
            record_id = c.execute(sa.insert(self.tables[entity.name]).values(**row).returning(
                self.tables[entity.name].c.id)).scalar_one()
            self._save_children(c, entity, record_id, children, None)
            self._history(c, entity, record_id, 1, "create", [])
            if once is not None:
                keys = self.tables.once_key
                c.execute(sa.update(keys).where(keys.c.key == once).values(record_id=record_id))
            record = self.get(entity.name, record_id, conn=c)
            self.site.pm.hook.after_record_save(service=self, entity=entity, record=record, created=True, conn=c)
        return record

    def update(self, entity_name: str, record_id: int, data: dict, row_version: int | None, *, conn=None) -> dict:
        with self._saving():
            return self._update(entity_name, record_id, data, row_version, conn)

    def _update(self, entity_name: str, record_id: int, data: dict, row_version: int | None, conn) -> dict:
        entity = self.record_entity(entity_name)
        with self.site.writing(conn) as c:
            existing = self._fetch(entity, record_id, conn=c)
            self.policy.require(entity, "write", existing, conn=c)
            self.refuse_if_locked(entity, existing)
            if row_version is None:
                raise RecordInvalid({"_record": [self.t("The form is missing its version; reload the page.", "表单缺少版本号，请刷新页面。")]})
            # a form older than the record: refused, unless it asks for nothing the record
            # does not already say (the same form sent twice, a client's retry)
            stale = int(row_version) != existing["row_version"]
            values = {k: v for k, v in existing.items()}
            errors: dict[str, list[str]] = {}
            values.update(self._load(entity, data, partial=True, errors=errors))
            try:
                children = self._prepare(entity, values, existing, c, errors)
            except RecordInvalid:
                if stale:
                    raise self._conflict(c, entity, existing, int(row_version)) from None
                raise
            table = self.tables[entity.name]
            changes = [
                (f.name, existing.get(f.name), values.get(f.name))
                for f in entity.user_fields()
                if f.name in table.c and _differs(existing.get(f.name), values.get(f.name))
            ]
            if not changes and not self._lines_change(entity, children, existing):
                return self._strip(entity, existing)
            if stale:
                raise self._conflict(c, entity, existing, int(row_version))
            update = {name: new for name, _, new in changes}
            for name, value in self.approvals.void_if_changed(c, entity, existing, set(update)).items():
                if name == "workflow_state":
                    update[name] = value
                elif name in table.c and name not in update and _differs(existing.get(name), value):
                    update[name] = value
                    changes.append((name, existing.get(name), value))
            # the row first: a concurrent writer is refused here, before any line is touched
            new_version = self._claim(c, entity, existing, update)["row_version"]
            child_changes = self._save_children(c, entity, record_id, children, existing)
            self._history(c, entity, record_id, new_version, "update", changes + child_changes)
            record = self.get(entity.name, record_id, conn=c)
            self.site.pm.hook.after_record_save(service=self, entity=entity, record=record, created=False, conn=c)
        return record

    def delete(self, entity_name: str, record_id: int, *, conn=None, row_version: int | None = None) -> None:
        """Move a record to the recycle bin (restorable). Its pending approval, if any (an
        administrator may delete a locked record), is cancelled with it. ``row_version``:
        the version the user saw, when the request carries it (a stale one is a conflict)."""
        entity = self.record_entity(entity_name)
        with self.site.writing(conn) as c:
            record = self._fetch(entity, record_id, conn=c)
            self.policy.require(entity, "delete", record, conn=c)
            self.refuse_if_locked(entity, record)
            if row_version is not None and int(row_version) != record["row_version"]:
                raise self._conflict(c, entity, record, int(row_version))
            self.site.pm.hook.before_record_delete(service=self, entity=entity, record=record)
            record = self.approvals.cancel_for_delete(c, entity, record)
            self._set_deleted(c, entity, record, deleted=True)

    def restore(self, entity_name: str, record_id: int, *, conn=None) -> dict:
        entity = self.record_entity(entity_name)
        with self.site.writing(conn) as c:
            record = self._fetch(entity, record_id, deleted=True, conn=c)
            self.policy.require(entity, "delete", record)
            self.refuse_if_locked(entity, record)
            self._check_unique(c, entity, record, record_id)
            self._set_deleted(c, entity, record, deleted=False)
            return self.get(entity.name, record_id, conn=c)

    def _set_deleted(self, c, entity: Entity, record: dict, deleted: bool) -> None:
        values = {"deleted_at": _now(), "deleted_by": self.actor.id} if deleted else {"deleted_at": None, "deleted_by": None}
        written = self._claim(c, entity, record, values, in_bin=not deleted)
        self._history(c, entity, record["id"], written["row_version"], "delete" if deleted else "restore", [])

    def _claim(self, c, entity: Entity, record: dict, values: dict, *, in_bin: bool = False, where=None) -> dict:
        """Write ``values`` to the record's row *if it still has the row version the caller
        read* (``record["row_version"]``): ``UPDATE … WHERE id = :id AND row_version = :seen``,
        with the next version and the updated stamps. Returns the record as written.

        Every write that changes a record's row goes through here: edit, assign, transfer,
        delete, restore and a workflow's field changes. A claim that matches no row (another
        request wrote, deleted or restored the record since it was read; on PostgreSQL this
        one waited for that one's row lock first) is a :class:`Conflict` naming what changed,
        so two writes never land under one version. ``in_bin``: the row is in the recycle
        bin (a restore); ``where``: a further condition the row must meet."""
        table = self.tables[entity.name]
        seen = record["row_version"]
        values = dict(values, row_version=seen + 1, updated_at=_now(), updated_by=self.actor.id)
        live = table.c.deleted_at.is_not(None) if in_bin else table.c.deleted_at.is_(None)
        stmt = sa.update(table).where(table.c.id == record["id"], table.c.row_version == seen, live)
        if where is not None:
            stmt = stmt.where(where)
        if c.execute(stmt.values(**values)).rowcount != 1:
            row = c.execute(sa.select(table).where(table.c.id == record["id"])).mappings().first()
            raise self._conflict(c, entity, self._strip(entity, dict(row)) if row else dict(record), seen)
        return dict(record, **values)

    def _take_once_key(self, c, entity: Entity, key: str) -> int | None:
        """Take a create request's one-time key for this transaction: None when it is new (it
        is stored now, its record id follows at the end), else the id of the record its first
        request created. On PostgreSQL a second request with the key waits at the insert for
        the first one's transaction: it finds the key taken once that commits (or takes it,
        if that one failed and rolled back); on SQLite writers are serialised anyway."""
        keys = self.tables.once_key
        if not isinstance(key, str) or not ONCE_KEY.match(key):
            raise RecordInvalid({"_record": [self.t("This form is damaged (its one-time key); reload the page.",
                                                    "表单已损坏（一次性标识无效），请刷新页面。")]})
        try:
            with c.begin_nested():
                c.execute(sa.insert(keys).values(key=key, user_id=self.actor.id, entity=entity.name, created_at=_now()))
            return None
        except sa.exc.IntegrityError:
            row = c.execute(sa.select(keys).where(keys.c.key == key)).mappings().one()
        if row["user_id"] != self.actor.id or row["entity"] != entity.name or row["record_id"] is None:
            raise RecordInvalid({"_record": [self.t("This form was already used; reload the page.",
                                                    "此表单已提交过，请刷新页面。")]})
        return row["record_id"]

    def _lines_change(self, entity: Entity, children: dict, existing: dict) -> bool:
        """Whether saving ``children`` would add, change or remove a line (see _save_children)."""
        for child in entity.child_tables():
            if child.name not in children:
                continue
            table = self.tables[child.target]
            link = child.get("link_field")
            old = {r["id"]: r for r in existing.get(child.name, [])}
            cols = [n for n in table.c.keys() if n not in SERVER_OWNED and n not in ("row_version", link)]
            kept = set()
            for line in children[child.name]:
                if line.get("id") not in old:
                    return True
                kept.add(line["id"])
                if any(_differs(old[line["id"]].get(k), line.get(k)) for k in cols):
                    return True
            if set(old) - kept:
                return True
        return False

    # ------------------------------------------------------------ validation
    def _load(self, entity: Entity, data: dict, partial: bool, errors: dict[str, list[str]] | None = None) -> dict:
        """Turn submitted input into typed values; refuse fields that cannot be set.

        With ``errors`` given, problems are added to it (so the caller can also run the
        record-level checks and show every message at once); otherwise they are raised."""
        if not isinstance(data, dict):
            raise RecordInvalid({"_record": [self.t("Expected an object of field values.", "应提交字段值对象。")]})
        collect = errors is not None
        errors = errors if collect else {}
        values: dict[str, Any] = {}
        for name, raw in data.items():
            fld = entity.fields.get(name)
            if fld is None:
                errors.setdefault(name, []).append(self.t(f"Unknown field '{name}'.", f"未知字段“{name}”。"))
                continue
            ftype = self.types[fld.type]
            if name in SERVER_OWNED or ftype.computed or fld.get("read_only"):
                errors.setdefault(name, []).append(self.t(f"'{fld.label.en}' cannot be set here.", f"“{fld.label.zh}”不能在此修改。"))
                continue
            if not self.policy.can_edit_field(entity, name):
                errors.setdefault(name, []).append(self.t(f"You may not change '{fld.label.en}'.", f"您无权修改“{fld.label.zh}”。"))
                continue
            if fld.type == "child_table":
                values[name] = self._load_children(fld, raw, errors)
                continue
            if fld.type == "attachment":
                values[name] = self.site.attachments.accept(fld, raw, self.lang, errors)
                if values[name]:
                    self._new_files.append(values[name])
                continue
            if isinstance(raw, str):
                raw = raw.strip()
            if raw == "" or raw is None:
                values[name] = None
                continue
            try:
                value = ftype.input_field(fld, self.lang).deserialize(raw)
            except ValidationError as exc:
                msgs = exc.messages if isinstance(exc.messages, list) else [str(exc.messages)]
                errors.setdefault(name, []).extend(str(m) for m in msgs)
                continue
            values[name] = ftype.normalize(value, fld)
        if errors and not collect:
            raise RecordInvalid(errors)
        return values

    def _load_children(self, fld: Field, rows: Any, errors: dict) -> list[dict]:
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            errors.setdefault(fld.name, []).append(self.t("Expected a list of lines.", "应提交明细行列表。"))
            return []
        child = self.meta.entity(fld.target)
        link = fld.get("link_field")
        loaded = []
        for i, raw in enumerate(rows[:500]):
            raw = dict(raw)
            line_id = raw.pop("id", None)
            raw.pop(link, None)
            raw.pop("row_version", None)
            # a line with bad input stays in place (with what could be read), so line numbers
            # in messages match the form's and nothing typed is lost on redisplay
            line_errors: dict[str, list[str]] = {}
            values = self.new_record(child.name) if not line_id else {}
            values.update(self._load(child, raw, partial=bool(line_id), errors=line_errors))
            for name, msgs in line_errors.items():
                errors.setdefault(f"{fld.name}.{i}.{name}", []).extend(msgs)
            if line_id not in (None, ""):
                try:
                    values["id"] = int(line_id)
                except (TypeError, ValueError):
                    errors.setdefault(f"{fld.name}.{i}", []).append(self.t("Bad line id.", "明细行编号无效。"))
            loaded.append(values)
        return loaded

    def _prepare(self, entity: Entity, values: dict, existing: dict | None, conn,
                 errors: dict[str, list[str]] | None = None) -> dict[str, list[dict]]:
        """Validate the whole record, compute child lines and formulas; return child lines.

        ``errors`` holds input problems found earlier; those fields are not checked again."""
        errors = dict(errors or {})
        unparsed = set(errors)
        children: dict[str, list[dict]] = {}
        for child in entity.child_tables():
            lines = values.get(child.name) or []
            old = {r["id"]: r for r in (existing or {}).get(child.name, [])}
            centity = self.meta.entity(child.target)
            full_lines = []
            for i, line in enumerate(lines):
                if "id" in line and line["id"] not in old:
                    errors.setdefault(f"{child.name}.{i}", []).append(self.t("This line belongs to another record.", "该明细行不属于此记录。"))
                    continue
                full = dict(old.get(line.get("id"), {}))
                full.update(line)
                self._formulas(centity, full)  # first, so a line's computed amount is checked too
                unread = {k.split(".")[2] for k in unparsed if k.startswith(f"{child.name}.{i}.")}
                line_errors = self._validate(centity, full, old.get(line.get("id")), conn,
                                             skip={child.get("link_field")} | unread)
                for name, msgs in line_errors.items():
                    errors.setdefault(f"{child.name}.{i}.{name}", []).extend(msgs)
                full_lines.append(full)
            children[child.name] = full_lines
            values[child.name] = full_lines
        self.site.pm.hook.before_record_save(service=self, entity=entity, values=values, existing=existing, conn=conn)
        self._formulas(entity, values)
        for name, msgs in self._validate(entity, values, existing, conn, skip=unparsed).items():
            errors.setdefault(name, []).extend(msgs)
        if errors:
            raise RecordInvalid(errors)
        return children

    def _env(self, entity_name: str, values: dict) -> dict:
        """Expression variables: every field of the entity, None when absent, and the
        record's approval state (``workflow_state``: pending, approved, ... or None)."""
        env = dict.fromkeys(self.meta.entity(entity_name).fields)
        env["workflow_state"] = None
        env.update(values)
        return env

    def _formulas(self, entity: Entity, values: dict) -> None:
        for fld in entity.formulas():
            try:
                result = expressions.evaluate(fld.get("expression"), self._env(entity.name, values))
            except expressions.ExpressionError:
                result = None
            values[fld.name] = self.types["formula"].coerce(result, fld)

    def visible(self, fld: Field, values: dict) -> bool:
        condition = fld.get("visible_if")
        if not condition:
            return True
        try:
            return bool(expressions.evaluate(condition, self._env(fld.entity, values)))
        except expressions.ExpressionError:
            return True

    def is_required(self, fld: Field, values: dict) -> bool:
        if fld.required:
            return True
        condition = fld.get("required_if")
        if not condition:
            return False
        try:
            return bool(expressions.evaluate(condition, self._env(fld.entity, values)))
        except expressions.ExpressionError:
            return False

    def _validate(self, entity: Entity, values: dict, existing: dict | None, conn, skip=frozenset()) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for fld in entity.user_fields():
            if fld.name in skip:
                continue
            ftype = self.types[fld.type]
            value = values.get(fld.name)
            if not self.visible(fld, values):
                continue
            empty = value is None or value == "" or (fld.type == "child_table" and not value)
            if empty:
                # a field the actor cannot edit cannot be demanded of them (nor one no form edits)
                if (not ftype.computed and not fld.get("read_only") and self.is_required(fld, values)
                        and self.policy.can_edit_field(entity, fld.name)):
                    errors.setdefault(fld.name, []).append(self.t(f"{fld.label.en} is required.", f"请填写{fld.label.zh}。"))
                continue
            problem = ftype.stored_problem(value, fld, self.lang)  # formulas, defaults and hooks too
            if problem is not None:
                errors.setdefault(fld.name, []).append(problem)
                continue
            old = (existing or {}).get(fld.name)
            if fld.type == "picklist":
                self._check_option(entity, fld, value, old, values, errors)
            elif fld.type == "multi_picklist":
                picklist = self.meta.picklists[fld.picklist]
                keys = json.loads(value) if isinstance(value, str) else value
                old_keys = set(json.loads(old)) if old else set()
                for key in keys:
                    option = picklist.option(key)
                    if option is None or (option.retired and key not in old_keys):
                        errors.setdefault(fld.name, []).append(self.t(f"'{key}' is not an option.", f"“{key}”不是可选项。"))
            elif fld.type in ("lookup", "user") and value != old:
                if not self._target_exists(fld, value, conn):
                    errors.setdefault(fld.name, []).append(self.t("Choose an existing record you can see.", "请选择一条存在且您可查看的记录。"))
        if existing is None or existing.get("id") is not None:
            self._collect_unique(conn, entity, values, (existing or {}).get("id"), errors)
        for rule in entity.rules:
            try:
                ok = bool(expressions.evaluate(rule.expression, self._env(entity.name, values)))
            except expressions.ExpressionError:
                ok = False
            if not ok:
                errors.setdefault(rule.field or "_record", []).append(rule.message.get(self.lang))
        return errors

    def _check_option(self, entity, fld, value, old, values, errors) -> None:
        picklist = self.meta.picklists[fld.picklist]
        option = picklist.option(value)
        if option is None or (option.retired and value != old):
            errors.setdefault(fld.name, []).append(self.t("Choose one of the options.", "请从选项中选择。"))
            return
        keys = [o.key for o in picklist.options]
        if fld.get("forward_only") and old in keys and keys.index(value) < keys.index(old):
            errors.setdefault(fld.name, []).append(self.t(
                f"{fld.label.en} cannot go back from {picklist.option(old).label.en} to {option.label.en}.",
                f"{fld.label.zh}不能从“{picklist.option(old).label.zh}”退回到“{option.label.zh}”。"))
            return
        parent_field = fld.get("depends_on")
        if parent_field and option.parent != values.get(parent_field):
            parent = entity.field(parent_field)
            errors.setdefault(fld.name, []).append(self.t(
                f"Does not belong to the chosen {parent.label.en}.", f"与所选{parent.label.zh}不匹配。"))

    def _target_exists(self, fld: Field, value: int, conn) -> bool:
        if fld.type == "user":
            users = self.tables.users
            return conn.execute(sa.select(users.c.id).where(users.c.id == value, users.c.is_active.is_(True))).first() is not None
        tentity = self.meta.entity(fld.target)
        ttable = self.tables[tentity.name]
        return conn.execute(sa.select(ttable.c.id).where(ttable.c.id == value, self._visible(tentity, ttable))).first() is not None

    def _collect_unique(self, conn, entity: Entity, values: dict, record_id, errors) -> None:
        table = self.tables[entity.name]
        for fld in entity.user_fields():
            if not fld.get("unique") or values.get(fld.name) in (None, "") or fld.name not in table.c:
                continue
            stmt = sa.select(table.c.id).where(table.c[fld.name] == values[fld.name], table.c.deleted_at.is_(None))
            if record_id is not None:
                stmt = stmt.where(table.c.id != record_id)
            if conn.execute(stmt.limit(1)).first() is not None:
                errors.setdefault(fld.name, []).append(self.t(
                    f"Another {entity.label.en.lower()} already has this {fld.label.en.lower()}.",
                    f"已有其他{entity.label.zh}使用此{fld.label.zh}。"))

    def _check_unique(self, conn, entity, record, record_id) -> None:
        errors: dict[str, list[str]] = {}
        self._collect_unique(conn, entity, record, record_id, errors)
        if errors:
            raise RecordInvalid(errors)

    # ------------------------------------------------------ children, history
    def _save_children(self, c, entity: Entity, record_id: int, children: dict, existing: dict | None) -> list:
        changes = []
        now = _now()
        for child in entity.child_tables():
            if child.name not in children:
                continue
            table = self.tables[child.target]
            link = child.get("link_field")
            old = {r["id"]: r for r in (existing or {}).get(child.name, [])}
            keep = set()
            cols = [n for n in table.c.keys() if n not in SERVER_OWNED and n not in ("row_version", link)]
            for line in children[child.name]:
                values = {k: line.get(k) for k in cols}
                if line.get("id") in old:
                    keep.add(line["id"])
                    before = old[line["id"]]
                    if any(_differs(before.get(k), values.get(k)) for k in cols):
                        c.execute(sa.update(table).where(table.c.id == line["id"]).values(
                            **values, updated_at=now, updated_by=self.actor.id, row_version=before["row_version"] + 1))
                        changes.append((child.name, None, f"~{line['id']}"))
                else:
                    c.execute(sa.insert(table).values(**values, **{link: record_id}, owner=self.actor.id,
                                                       created_at=now, created_by=self.actor.id, updated_at=now,
                                                       updated_by=self.actor.id, row_version=1))
                    changes.append((child.name, None, "+1"))
            removed = [rid for rid in old if rid not in keep]
            if removed:
                c.execute(sa.delete(table).where(table.c.id.in_(removed)))
                changes.append((child.name, f"-{len(removed)}", None))
        if existing is None:
            return []
        # summarise line changes as one history entry per child table: how many lines were
        # added, changed and removed (the page words it in the reader's language)
        counts: dict[str, list[int]] = {}
        for name, old_mark, new_mark in changes:
            tally = counts.setdefault(name, [0, 0, 0])
            if new_mark == "+1":
                tally[0] += 1
            elif new_mark is not None:
                tally[1] += 1
            else:
                tally[2] += int(old_mark[1:])
        summary = self.types["child_table"].summary
        return [(name, None, summary(*tally)) for name, tally in counts.items()]

    def _history(self, c, entity: Entity, record_id: int, version: int, action: str, changes: list) -> None:
        hist = self.tables.history
        now = _now()
        rows = [dict(entity=entity.name, record_id=record_id, row_version=version, action=action,
                     field=name, old_value=_text(old), new_value=_text(new), user_id=self.actor.id, at=now)
                for name, old, new in changes]
        if not rows:
            rows = [dict(entity=entity.name, record_id=record_id, row_version=version, action=action,
                         field=None, old_value=None, new_value=None, user_id=self.actor.id, at=now)]
        c.execute(sa.insert(hist), rows)

    def _conflict(self, c, entity: Entity, current: dict, seen_version: int) -> Conflict:
        hist, users = self.tables.history, self.tables.users
        rows = c.execute(
            sa.select(hist.c.field, hist.c.old_value, hist.c.new_value, hist.c.at, hist.c.action,
                      users.c.display_name.label("user_name"))
            .select_from(hist.outerjoin(users, users.c.id == hist.c.user_id))
            .where(hist.c.entity == entity.name, hist.c.record_id == current["id"], hist.c.row_version > seen_version)
            .order_by(hist.c.id)
        ).mappings().all()
        hidden = self.policy.hidden_fields(entity)
        changes = [dict(r) for r in rows if r["field"] not in hidden]
        for change in changes:  # for the answer: the field's label, and whether its values read as text
            fld = entity.fields.get(change["field"] or "")
            change["label"] = fld.label.get(self.lang) if fld is not None else None
            change["plain"] = fld is not None and fld.type not in ("lookup", "user", "attachment", "child_table")
        return Conflict(self.t(
            "Someone else saved this record after you opened it. Your changes were not saved; review theirs below and apply yours again.",
            "在您打开此记录后，其他人已保存了它。您的修改未保存；请查看下面的变更后重新修改。"), changes, current)


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _differs(a, b) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        try:
            return Decimal(str(a)) != Decimal(str(b)) if a is not None and b is not None else a is not b
        except Exception:
            return True
    if isinstance(a, list) or isinstance(b, list):
        return False  # child tables are compared line by line
    return a != b


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)[:2000]
