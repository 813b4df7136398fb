"""SQLAlchemy Core tables: the system tables and one table per entity, from metadata."""

from __future__ import annotations

import hashlib
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
        sa.Column("department_id", sa.Integer, sa.ForeignKey("kehu_department.id", name="fk_kehu_user_department")),
        sa.Column("created_at", sa.DateTime, nullable=False),
        # renewed on deactivation, reactivation and password reset: a session carries it
        # (hashed), so every session from before such a change ends (kehu/web/auth.py)
        sa.Column("session_stamp", sa.String(32)),
    )
    departments = sa.Table(
        "kehu_department", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("name_en", sa.String(120)),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("kehu_department.id", name="fk_kehu_department_parent")),
        sa.Column("manager_id", sa.Integer, sa.ForeignKey(f"{USER_TABLE}.id", name="fk_kehu_department_manager", use_alter=True)),
        # the key workflows and picklists name the department by (e.g. 'finance')
        sa.Column("code", sa.String(40)),
        sa.Index("uq_kehu_department_code", "code", unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    teams = sa.Table(
        "kehu_team", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    team_members = sa.Table(
        "kehu_team_member", md,
        sa.Column("team_id", sa.Integer, sa.ForeignKey("kehu_team.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey(f"{USER_TABLE}.id", ondelete="CASCADE"), primary_key=True),
    )
    user_roles = sa.Table(
        "kehu_user_role", md,
        sa.Column("user_id", sa.Integer, sa.ForeignKey(f"{USER_TABLE}.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role", sa.String(40), primary_key=True),
    )
    shares = sa.Table(
        "kehu_share", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("principal_type", sa.String(12), nullable=False),  # user | team | department
        sa.Column("principal_id", sa.Integer, nullable=False),
        sa.Column("access", sa.String(8), nullable=False),  # read | write
        sa.Column("granted_by", sa.Integer, sa.ForeignKey(f"{USER_TABLE}.id")),
        sa.Column("granted_at", sa.DateTime, nullable=False),
        sa.Index("ix_kehu_share_principal", "entity", "principal_type", "principal_id", "record_id"),
        sa.Index("uq_kehu_share_grant", "entity", "record_id", "principal_type", "principal_id", unique=True),
    )
    audit = sa.Table(
        "kehu_audit", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey(f"{USER_TABLE}.id")),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("entity", sa.String(40)),
        sa.Column("record_id", sa.Integer),
        sa.Column("detail", sa.Text),
        sa.Index("ix_kehu_audit_at", "at"),
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
        sa.Index("ix_kehu_history_user", "user_id", "entity", "at"),  # "my recent customers"
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
    # one-time keys of create requests (a form's hidden token, later an API Idempotency-Key):
    # stored with the record the request created, in its transaction, so a repeated request
    # finds that record instead of creating a second one
    once = sa.Table(
        "kehu_once_key", md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey(f"{USER_TABLE}.id", ondelete="CASCADE")),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.Integer),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    return {t.name: t for t in (users, departments, teams, team_members, user_roles, shares, audit,
                                history, counters, meta, retired, *workflow_tables(md), *dispatch_tables(md), once)}


def dispatch_tables(md: sa.MetaData) -> tuple[sa.Table, ...]:
    """Users' attributes that assignment rules match (a region, a skill): one row per value."""
    attributes = sa.Table(
        "kehu_user_attribute", md,
        sa.Column("user_id", sa.Integer, sa.ForeignKey(f"{USER_TABLE}.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("attribute", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(64), primary_key=True),
        sa.Index("ix_kehu_user_attribute_value", "attribute", "value"),
    )
    return (attributes,)


def workflow_tables(md: sa.MetaData) -> tuple[sa.Table, ...]:
    """Approvals in flight and done, the workflow versions they run on, delegations,
    notifications and favourites."""
    user_fk = f"{USER_TABLE}.id"
    versions = sa.Table(
        "kehu_workflow_version", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workflow", sa.String(40), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Index("uq_kehu_workflow_version", "workflow", "digest", unique=True),
    )
    approvals = sa.Table(
        "kehu_approval", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workflow", sa.String(40), nullable=False),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("kehu_workflow_version.id"), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),  # pending | approved | rejected | recalled
        sa.Column("step_no", sa.Integer),  # index of the current step in the version's steps
        sa.Column("step_started_at", sa.DateTime),
        sa.Column("submitted_by", sa.Integer, sa.ForeignKey(user_fk), nullable=False),
        sa.Column("submitted_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("record_version", sa.Integer),  # the record's row version when it was approved
        # bumped by every decision: the first statement of a decision, so concurrent
        # decisions on one approval queue behind each other (row lock) and re-check the step
        sa.Column("turn", sa.Integer, nullable=False, default=0),
        sa.Index("ix_kehu_approval_record", "entity", "record_id"),
        sa.Index("ix_kehu_approval_submitter", "submitted_by", "state"),
    )
    tasks = sa.Table(
        "kehu_approval_task", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("approval_id", sa.Integer, sa.ForeignKey("kehu_approval.id", ondelete="CASCADE"), nullable=False),
        sa.Column("step_no", sa.Integer, nullable=False),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("assignee_id", sa.Integer, sa.ForeignKey(user_fk), nullable=False),
        sa.Column("on_behalf_of", sa.Integer, sa.ForeignKey(user_fk)),  # set when a delegate acts
        sa.Column("state", sa.String(12), nullable=False),  # pending | approved | rejected | cancelled
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("due_at", sa.DateTime),
        sa.Column("decided_at", sa.DateTime),
        sa.Column("comment", sa.Text),
        sa.Column("reminded_at", sa.DateTime),
        sa.Index("ix_kehu_approval_task_assignee", "assignee_id", "state"),
        sa.Index("ix_kehu_approval_task_approval", "approval_id", "step_no"),
    )
    events = sa.Table(
        "kehu_approval_event", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("approval_id", sa.Integer, sa.ForeignKey("kehu_approval.id", ondelete="CASCADE"), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey(user_fk)),
        sa.Column("on_behalf_of", sa.Integer, sa.ForeignKey(user_fk)),
        # submit | approve | reject | recall | reassign | delegate | skip | escalate | approved | rejected
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("step", sa.String(40)),
        sa.Column("comment", sa.Text),
        sa.Column("target_id", sa.Integer, sa.ForeignKey(user_fk)),  # who a task went to
        sa.Index("ix_kehu_approval_event_record", "entity", "record_id"),
    )
    delegations = sa.Table(
        "kehu_delegation", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey(user_fk, ondelete="CASCADE"), nullable=False),
        sa.Column("delegate_id", sa.Integer, sa.ForeignKey(user_fk, ondelete="CASCADE"), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Index("ix_kehu_delegation_user", "user_id", "starts_on"),
    )
    notifications = sa.Table(
        "kehu_notification", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey(user_fk, ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text_en", sa.String(400), nullable=False),
        sa.Column("text_zh", sa.String(400), nullable=False),
        sa.Column("entity", sa.String(40)),
        sa.Column("record_id", sa.Integer),
        sa.Column("read_at", sa.DateTime),
        sa.Index("ix_kehu_notification_user", "user_id", "read_at"),
    )
    favourites = sa.Table(
        "kehu_favourite", md,
        sa.Column("user_id", sa.Integer, sa.ForeignKey(user_fk, ondelete="CASCADE"), primary_key=True),
        sa.Column("entity", sa.String(40), primary_key=True),
        sa.Column("record_id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    return versions, approvals, tasks, events, delegations, notifications, favourites


def index_name(prefix: str, table: str, columns: list[str]) -> str:
    """A deterministic index name that fits PostgreSQL's 63 characters (a longer name would
    be truncated by the server and then never match what schema sync expects)."""
    name = f"{prefix}_{table}_{'_'.join(columns)}"
    if len(name) <= 60:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return f"{name[:49]}_{digest}"


FILTER_INDEX_TYPES = ("picklist", "user", "date", "datetime")


def entity_table(md: sa.MetaData, entity: Entity, field_types, filters: tuple[str, ...] = ()) -> sa.Table:
    """The table of ``entity``. Lookups are indexed, and so are the picklist, user and date
    fields offered as list filters (``filters``) unless a declared index already starts with
    them."""
    user_fk = f"{USER_TABLE}.id"
    columns = [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.Integer, sa.ForeignKey(user_fk)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey(user_fk)),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("updated_by", sa.Integer, sa.ForeignKey(user_fk)),
        sa.Column("row_version", sa.Integer, nullable=False, default=1),
        sa.Column("workflow_state", sa.String(40)),
        sa.Column("deleted_at", sa.DateTime),
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
        columns.append(sa.Column(field.name, ftype.column_type(field), *args, nullable=True))
    table = sa.Table(entity.name, md, *columns)
    leading = {index["fields"][0] for index in entity.indexes}
    single = ["owner", "created_at", "deleted_at"] + [f.name for f in entity.user_fields() if f.type == "lookup"]
    # a field that grants access is part of every permission predicate ("… OR engineer = :me")
    single += [f.name for f in entity.granting_fields()]
    single += [name for name in filters if name in entity.fields and entity.fields[name].type in FILTER_INDEX_TYPES
               and field_types[entity.fields[name].type].stored]
    for name in dict.fromkeys(single):
        if name not in leading and name in table.c:
            sa.Index(index_name("ix", entity.name, [name]), table.c[name])
    for field in entity.user_fields():
        if field.type == "autonumber":  # codes stay unique even across the recycle bin
            sa.Index(index_name("uq", entity.name, [field.name]), table.c[field.name], unique=True)
        elif field.get("unique") and ftype_stored(field_types, field):
            # unique among live records: the recycle bin keeps deleted rows
            live = table.c.deleted_at.is_(None)
            sa.Index(index_name("uq", entity.name, [field.name]), table.c[field.name], unique=True,
                     sqlite_where=live, postgresql_where=live)
    for i, index in enumerate(entity.indexes):
        cols = [table.c[name] for name in index["fields"] if name in table.c]
        sa.Index(index_name("ix", entity.name, list(index["fields"])), *cols, unique=bool(index.get("unique")))
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
    def departments(self) -> sa.Table:
        return self.system["kehu_department"]

    @property
    def teams(self) -> sa.Table:
        return self.system["kehu_team"]

    @property
    def team_members(self) -> sa.Table:
        return self.system["kehu_team_member"]

    @property
    def user_roles(self) -> sa.Table:
        return self.system["kehu_user_role"]

    @property
    def shares(self) -> sa.Table:
        return self.system["kehu_share"]

    @property
    def audit(self) -> sa.Table:
        return self.system["kehu_audit"]

    @property
    def history(self) -> sa.Table:
        return self.system["kehu_history"]

    @property
    def counters(self) -> sa.Table:
        return self.system["kehu_counter"]

    @property
    def meta(self) -> sa.Table:
        return self.system["kehu_meta"]

    def __getattr__(self, name: str) -> sa.Table:
        """The other system tables by their name without ``kehu_``: ``tables.approval_task``."""
        try:
            return self.system[f"kehu_{name}"]
        except KeyError:
            raise AttributeError(name) from None


def build_tables(metadata: Metadata, field_types) -> Tables:
    md = sa.MetaData()
    system = system_tables(md)
    entities = {
        name: entity_table(md, entity, field_types, metadata.layout(name, "list").filters)
        for name, entity in metadata.entities.items()
    }
    return Tables(md, system, entities)
