"""Schema sync: compare effective metadata with the live database, plan, apply.

Only additive and declared changes are applied: new tables, new columns (always nullable),
new indexes, declared renames (``renamed_from``) and widening of text columns. A field
that disappeared from metadata is *retired*: its column and data stay and it is recorded
in ``kehu_retired_column``. Type changes that could lose data are refused unless forced.

The whole plan runs in one transaction. On SQLite, foreign keys are switched off *before*
the transaction (the pragma is ignored inside one) because batch operations copy and drop
tables, which with ``ON DELETE CASCADE`` would wipe child rows; ``foreign_key_check`` runs
before commit. See ``shared/docs/schema-changes.md``.

Exact decimals on SQLite (:mod:`kehu.db.types`): a decimal column declared the old way
(``NUMERIC``, which SQLite stored as REAL) is converted once, in the same transaction, by
the declared step ``exact_decimal``: every value becomes a whole number of 10^-scale units
(read as the shortest decimal that names the stored number, so 19.99 stays 19.99), then
the column is re-declared ``SCALED_INTEGER(18, scale)``. A later change of scale rescales
the same way (fewer places would round: refused unless forced); a field that stops being
a decimal gets its values back as plain numbers before its type changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from kehu.db import types
from kehu.db.tables import Tables
from kehu.metadata.model import SYSTEM_COLUMNS, Metadata


@dataclass(frozen=True)
class Step:
    kind: str  # create_table | add_column | rename_column | widen_column | create_index | retire_column | change_type
    table: str
    name: str = ""
    detail: str = ""
    lossy: bool = False
    # SQLite's exact decimals: multiply the stored values by 10^shift before the type changes
    shift: int | None = None

    def __str__(self) -> str:
        text = {
            "create_table": f"create table {self.table}",
            "add_column": f"add column {self.table}.{self.name} {self.detail}",
            "rename_column": f"rename column {self.table}.{self.detail} -> {self.name}",
            "widen_column": f"widen column {self.table}.{self.name} {self.detail}",
            "create_index": f"create index {self.name} on {self.table}",
            "retire_column": f"retire column {self.table}.{self.name} (kept with its data)",
            "change_type": f"change type of {self.table}.{self.name}: {self.detail}",
            "exact_decimal": f"store {self.table}.{self.name} exactly: {self.detail}",
            "retire_table": f"table {self.table} is no longer in metadata (kept with its data)",
        }[self.kind]
        return text + ("  [REFUSED: may lose data; use --force]" if self.lossy else "")


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)

    @property
    def refused(self) -> list[Step]:
        return [s for s in self.steps if s.lossy]

    @property
    def empty(self) -> bool:
        return not [s for s in self.steps if s.kind not in ("retire_table",)]

    def lines(self) -> list[str]:
        return [str(s) for s in self.steps] or ["database is up to date"]


class SyncRefused(Exception):
    def __init__(self, steps: list[Step]):
        super().__init__("refused: " + "; ".join(str(s) for s in steps))
        self.steps = steps


class MigrationBusy(Exception):
    """A migration gave up waiting for a table lock (another connection held it past the
    lock time-out, on every attempt); nothing was changed."""


def _category(column_type, dialect=None) -> tuple[str, int | None]:
    t = column_type
    if isinstance(t, sa.types.TypeDecorator) and dialect is not None:
        t = t.load_dialect_impl(dialect)
    if isinstance(t, types.ScaledInteger):
        return ("scaled", t.scale)
    if isinstance(t, sa.Float):
        return ("numeric", None)
    if isinstance(t, sa.Boolean):
        return ("bool", None)
    if isinstance(t, sa.DateTime):
        return ("datetime", None)
    if isinstance(t, sa.Date):
        return ("date", None)
    if isinstance(t, sa.Integer):
        return ("int", None)
    if isinstance(t, sa.Numeric):
        return ("numeric", getattr(t, "scale", None))
    if isinstance(t, sa.Text) or (isinstance(t, sa.String) and t.length is None):
        return ("string", None)
    if isinstance(t, sa.String):
        return ("string", t.length)
    return (type(t).__name__.lower(), None)


def plan(engine_or_conn, metadata: Metadata, tables: Tables) -> Plan:
    types.register_reflection(engine_or_conn.dialect)
    insp = sa.inspect(engine_or_conn)
    existing = set(insp.get_table_names())
    out = Plan()
    wanted = dict(tables.system)
    wanted.update(tables.entities)
    for name, table in wanted.items():
        if name not in existing:
            out.steps.append(Step("create_table", name))
            continue
        live_cols = {c["name"]: c for c in insp.get_columns(name)}
        entity = metadata.entities.get(name)
        for column in table.columns:
            if column.name in live_cols:
                _compare_type(out, engine_or_conn, name, column, live_cols[column.name])
                continue
            old = entity.fields[column.name].get("renamed_from") if entity and column.name in entity.fields else None
            if old and old in live_cols:
                out.steps.append(Step("rename_column", name, column.name, old))
            else:
                out.steps.append(Step("add_column", name, column.name, str(column.type.compile(engine_or_conn.dialect))))
        if entity is not None:
            renamed = {f.get("renamed_from") for f in entity.fields.values() if f.get("renamed_from")}
            retired = _retired(engine_or_conn, tables, name)
            for col in live_cols:
                if col not in table.columns and col not in SYSTEM_COLUMNS and col not in renamed and col not in retired:
                    out.steps.append(Step("retire_column", name, col))
        live_indexes = {i["name"] for i in insp.get_indexes(name)}
        for index in table.indexes:
            if index.name not in live_indexes:
                out.steps.append(Step("create_index", name, index.name))
    for name in sorted(existing - set(wanted)):
        if not name.startswith(("kehu_", "sqlite_", "alembic")):
            out.steps.append(Step("retire_table", name))
    return out


def _compare_type(out: Plan, conn, table: str, column: sa.Column, live: dict) -> None:
    want, have = _category(column.type, conn.dialect), _category(live["type"], conn.dialect)
    if want == have:
        return
    if "scaled" in (want[0], have[0]):
        _compare_scaled(out, table, column, want, have)
        return
    if want[0] == have[0] == "string":
        if want[1] is None or (have[1] is not None and want[1] > have[1]):
            if conn.dialect.name != "sqlite":  # SQLite does not enforce lengths
                out.steps.append(Step("widen_column", table, column.name, f"{have[1]} -> {want[1] or 'unlimited'}"))
            return
        out.steps.append(Step("change_type", table, column.name, f"text length {have[1]} -> {want[1]}", lossy=True))
        return
    if want[0] == have[0] == "numeric":
        if (want[1] or 0) >= (have[1] or 0):
            if conn.dialect.name != "sqlite":
                out.steps.append(Step("widen_column", table, column.name, f"scale {have[1]} -> {want[1]}"))
            return
    if have[0] == "int" and want[0] == "numeric":
        out.steps.append(Step("change_type", table, column.name, "integer -> decimal"))
        return
    out.steps.append(Step("change_type", table, column.name, f"{have[0]} -> {want[0]}", lossy=True))


def _compare_scaled(out: Plan, table: str, column: sa.Column, want, have) -> None:
    """SQLite's exact decimals: converting to them, between scales, and away from them."""
    if want[0] == "scaled":
        unit = f"whole numbers of 10^-{want[1]}" if want[1] else "whole numbers"
        if have[0] == "scaled":
            shift = want[1] - have[1]
            out.steps.append(Step("exact_decimal", table, column.name, f"scale {have[1]} -> {want[1]}",
                                  lossy=shift < 0, shift=shift))
        elif have[0] in ("numeric", "int"):
            was = "integer" if have[0] == "int" else "NUMERIC (kept as REAL by SQLite)"
            out.steps.append(Step("exact_decimal", table, column.name, f"{was} -> {unit}", shift=want[1]))
        else:
            out.steps.append(Step("exact_decimal", table, column.name, f"{have[0]} -> {unit}", lossy=True, shift=want[1]))
        return
    out.steps.append(Step("change_type", table, column.name, f"decimal -> {want[0]}", lossy=True, shift=-have[1]))


def _rescale(conn, table_name: str, step: Step, column: sa.Column) -> None:
    """Multiply every stored value of the step's column by 10^shift, exactly (a REAL is read
    as the shortest decimal naming it), rounding half up to whole units for a scaled or
    integer column; a value that does not fit refuses the whole migration, unless the step
    was forced (then it is emptied, as a forced lossy change may)."""
    want = _category(column.type, conn.dialect)
    precision = getattr(column.type, "precision", None) or types.DEFAULT_PRECISION
    rows = sa.table(table_name, sa.column("id"), sa.column(step.name))  # raw values, no type processing
    current = conn.execute(sa.select(rows.c.id, rows.c[step.name]).where(rows.c[step.name].is_not(None))).all()
    changed = []
    for row_id, value in current:
        try:
            number = (Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))).scaleb(step.shift)
        except (ArithmeticError, ValueError):  # decimal's InvalidOperation is an ArithmeticError
            number = None
        if number is None or not number.is_finite():
            new = None
        elif want[0] in ("scaled", "int"):
            new = int(number.to_integral_value(rounding=ROUND_HALF_UP))
            if want[0] == "scaled" and abs(new) >= 10 ** precision:
                new = None
        else:  # a decimal that becomes text or another type: the number as people write it
            new = str(number)
        if new is None and not step.lossy:
            raise SyncRefused([Step("exact_decimal", table_name, step.name,
                                    f"value {value!r} of row {row_id} does not fit; correct it and migrate again", lossy=True)])
        changed.append({"_id": row_id, "_v": new})
    if changed:
        conn.execute(sa.update(rows).where(rows.c.id == sa.bindparam("_id")).values({step.name: sa.bindparam("_v")}), changed)


def _retired(conn, tables: Tables, table: str) -> set[str]:
    retired = tables.system["kehu_retired_column"]
    if not sa.inspect(conn).has_table(retired.name):
        return set()
    with _connection(conn) as c:
        rows = c.execute(sa.select(retired.c.column_name).where(retired.c.table_name == table))
        return {r[0] for r in rows}


class _connection:
    def __init__(self, bind):
        self.bind = bind
        self.own = isinstance(bind, sa.Engine)

    def __enter__(self):
        self.conn = self.bind.connect() if self.own else self.bind
        return self.conn

    def __exit__(self, *exc):
        if self.own:
            self.conn.close()


def apply(engine: sa.Engine, metadata: Metadata, tables: Tables, force: bool = False, lock_timeout: float = 5.0,
          progress=None) -> Plan:
    """Plan and apply in one transaction; raise SyncRefused for lossy steps unless forced.

    On PostgreSQL every lock the migration waits for gives up after ``lock_timeout``
    seconds (``SET LOCAL lock_timeout``), so an ALTER behind a long report never queues
    every user's request behind it; the caller retries (:meth:`kehu.site.Site.migrate`).
    ``progress(step)`` is called as each step is applied."""
    sqlite = engine.dialect.name == "sqlite"
    types.register_reflection(engine.dialect)  # batch copies keep SCALED_INTEGER columns as declared
    with engine.connect() as conn:
        if sqlite:
            _foreign_keys(conn, False)
        try:
            with conn.begin():
                if not sqlite:  # set_config(..., true) is SET LOCAL with a bound value
                    conn.execute(sa.select(sa.func.set_config("lock_timeout", f"{max(1, int(lock_timeout * 1000))}ms", True)))
                todo = plan(conn, metadata, tables)
                if todo.refused and not force:
                    raise SyncRefused(todo.refused)
                _execute(conn, todo, tables, progress)
                if sqlite:
                    problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if problems:
                        raise RuntimeError(f"foreign key check failed after migration: {problems[:5]}")
                meta = tables.meta
                conn.execute(sa.delete(meta).where(meta.c.key == "metadata_version"))
                conn.execute(sa.insert(meta).values(key="metadata_version", value=metadata.version))
        finally:
            if sqlite:
                _foreign_keys(conn, True)
    return todo


def _fk_name(table: str, column: str) -> str:
    name = f"fk_{table}_{column}"
    if len(name) > 60:  # PostgreSQL's identifiers stop at 63 characters
        name = f"{name[:51]}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"
    return name


def _foreign_keys(conn, on: bool) -> None:
    """Switch SQLite's foreign keys on or off for this connection.

    The pragma is silently ignored inside a transaction, and the engine emits ``BEGIN``
    before any statement run through SQLAlchemy, so it goes to the driver connection
    directly (which runs in autocommit mode) and is read back to be sure."""
    raw = conn.connection.dbapi_connection
    raw.execute("PRAGMA foreign_keys=ON" if on else "PRAGMA foreign_keys=OFF")
    if bool(raw.execute("PRAGMA foreign_keys").fetchone()[0]) != on:
        raise RuntimeError("could not switch SQLite foreign keys " + ("on" if on else "off"))


def _execute(conn, todo: Plan, tables: Tables, progress=None) -> None:
    report = progress or (lambda step: None)
    wanted = dict(tables.system)
    wanted.update(tables.entities)
    new_tables = [wanted[s.table] for s in todo.steps if s.kind == "create_table"]
    if new_tables:
        # create_all orders tables by their foreign keys (and handles cycles)
        tables.metadata.create_all(conn, tables=new_tables, checkfirst=False)
        for step in todo.steps:  # their indexes came with them
            if step.kind in ("create_table", "create_index") and wanted[step.table] in new_tables:
                report(step)
    ops = Operations(MigrationContext.configure(conn))
    now = dt.datetime.now().replace(microsecond=0)
    by_table: dict[str, list[Step]] = {}
    for step in todo.steps:
        if step.kind in ("add_column", "rename_column", "widen_column", "change_type", "exact_decimal"):
            by_table.setdefault(step.table, []).append(step)
    for table_name, steps in by_table.items():
        table = wanted[table_name]
        for step in steps:
            if step.shift is not None:  # values first: the table copy below casts them to the new type
                _rescale(conn, table_name, step, table.c[step.name])
        with ops.batch_alter_table(table_name) as batch:
            for step in steps:
                report(step)
                column = table.c[step.name]
                if step.kind == "add_column":
                    # named: SQLite adds a foreign key by rebuilding the table, which needs a name
                    fks = [sa.ForeignKey(fk.target_fullname, ondelete=fk.ondelete, name=_fk_name(table_name, column.name))
                           for fk in column.foreign_keys]
                    batch.add_column(sa.Column(column.name, column.type, *fks, nullable=True))
                elif step.kind == "rename_column":
                    batch.alter_column(step.detail, new_column_name=step.name)
                else:
                    kwargs = {}
                    if conn.dialect.name == "postgresql":
                        quoted = conn.dialect.identifier_preparer.quote(step.name)
                        kwargs["postgresql_using"] = f"{quoted}::{column.type.compile(conn.dialect)}"
                    batch.alter_column(step.name, type_=column.type, **kwargs)
    for step in todo.steps:
        if step.kind == "create_index" and wanted[step.table] not in new_tables:
            report(step)
            index = next(i for i in wanted[step.table].indexes if i.name == step.name)
            index.create(conn)
        elif step.kind == "retire_column":
            report(step)
            conn.execute(sa.insert(tables.system["kehu_retired_column"]).values(
                table_name=step.table, column_name=step.name, retired_at=now))
