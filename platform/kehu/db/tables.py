"""SQLAlchemy Core tables: the system tables and one table per entity, from metadata."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from kehu.metadata.model import Entity, Metadata

USER_TABLE = "kehu_user"


def system_tables(md: sa.MetaData) -> dict[str, sa.Table]:
    users = sa.Table(
        USER_TABLE, md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(80), nullable=False, unique=True),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("email", sa.String(255)),
        sa.Column("is_active", sa.Boolean, nullable=False, default=True),
        sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
        sa.Column("locale", sa.String(8)),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    history = sa.Table(
        "kehu_history", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("row_version", sa.Integer, nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("field", sa.String(40)),
        sa.Column("old_value", sa.Text),
        sa.Column("new_value", sa.Text),
        sa.Column("user_id", sa.Integer, sa.ForeignKey(f"{USER_TABLE}.id")),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Index("ix_kehu_history_record", "entity", "record_id", "row_version"),
    )
    counters = sa.Table(
        "kehu_counter", md,
        sa.Column("key", sa.String(120), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )
    meta = sa.Table(
        "kehu_meta", md,
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    retired = sa.Table(
        "kehu_retired_column", md,
        sa.Column("table_name", sa.String(80), primary_key=True),
        sa.Column("column_name", sa.String(80), primary_key=True),
        sa.Column("retired_at", sa.DateTime, nullable=False),
    )
    return {t.name: t for t in (users, history, counters, meta, retired)}


def entity_table(md: sa.MetaData, entity: Entity, field_types) -> sa.Table:
    user_fk = f"{USER_TABLE}.id"
    columns = [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.Integer, sa.ForeignKey(user_fk), index=True),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
        sa.Column("created_by", sa.Integer, sa.ForeignKey(user_fk)),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("updated_by", sa.Integer, sa.ForeignKey(user_fk)),
        sa.Column("row_version", sa.Integer, nullable=False, default=1),
        sa.Column("workflow_state", sa.String(40)),
        sa.Column("deleted_at", sa.DateTime, index=True),
        sa.Column("deleted_by", sa.Integer, sa.ForeignKey(user_fk)),
    ]
    for field in entity.user_fields():
        ftype = field_types[field.type]
        if not ftype.stored:
            continue
        args = []
        if field.type == "lookup":
            on_delete = "CASCADE" if entity.child_of and field.target == entity.child_of else None
            args.append(sa.ForeignKey(f"{field.target}.id", ondelete=on_delete))
        elif field.type == "user":
            args.append(sa.ForeignKey(user_fk))
        # required is enforced by the record service (it may be conditional), so every
        # entity column is nullable: adding a field to a table that holds data never fails
        columns.append(sa.Column(field.name, ftype.column_type(field), *args, nullable=True,
                                 index=field.type == "lookup"))
    table = sa.Table(entity.name, md, *columns)
    for field in entity.user_fields():
        if field.type == "autonumber":  # codes stay unique even across the recycle bin
            sa.Index(f"uq_{entity.name}_{field.name}", table.c[field.name], unique=True)
        elif field.get("unique") and ftype_stored(field_types, field):
            # unique among live records: the recycle bin keeps deleted rows
            live = table.c.deleted_at.is_(None)
            sa.Index(f"uq_{entity.name}_{field.name}", table.c[field.name], unique=True,
                     sqlite_where=live, postgresql_where=live)
    for i, index in enumerate(entity.indexes):
        cols = [table.c[name] for name in index["fields"] if name in table.c]
        name = f"ix_{entity.name}_{'_'.join(index['fields'])}"[:60]
        sa.Index(name, *cols, unique=bool(index.get("unique")))
    return table


def ftype_stored(field_types, field) -> bool:
    return field_types[field.type].stored


@dataclass(frozen=True)
class Tables:
    """The SQLAlchemy tables for one metadata snapshot."""

    metadata: sa.MetaData
    system: dict[str, sa.Table]
    entities: dict[str, sa.Table]

    def __getitem__(self, entity: str) -> sa.Table:
        return self.entities[entity]

    @property
    def users(self) -> sa.Table:
        return self.system[USER_TABLE]

    @property
    def history(self) -> sa.Table:
        return self.system["kehu_history"]

    @property
    def counters(self) -> sa.Table:
        return self.system["kehu_counter"]

    @property
    def meta(self) -> sa.Table:
        return self.system["kehu_meta"]


def build_tables(metadata: Metadata, field_types) -> Tables:
    md = sa.MetaData()
    system = system_tables(md)
    entities = {name: entity_table(md, entity, field_types) for name, entity in metadata.entities.items()}
    return Tables(md, system, entities)
