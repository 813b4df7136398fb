"""The effective metadata: frozen objects with a small query API.

A change never mutates a snapshot: loading builds a new :class:`Metadata` with its own
content hash (``version``), and the site swaps it in whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Callable, Mapping

SYSTEM_FIELDS = ("id", "owner", "created_at", "created_by", "updated_at", "updated_by")
SYSTEM_COLUMNS = SYSTEM_FIELDS + ("row_version", "workflow_state", "deleted_at", "deleted_by")
ACTIONS = ("create", "read", "write", "delete", "export", "import", "assign", "share")


@dataclass(frozen=True)
class Label:
    en: str
    zh: str

    def get(self, locale: str | None) -> str:
        return self.zh if (locale or "").startswith("zh") else self.en

    @classmethod
    def of(cls, raw: Mapping | None, fallback: str = "") -> "Label":
        raw = raw or {}
        return cls(raw.get("en") or fallback, raw.get("zh") or raw.get("en") or fallback)


def freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


@dataclass(frozen=True, eq=False)
class Field:
    entity: str
    name: str
    type: str
    label: Label
    props: Mapping[str, Any]
    system: bool = False

    def get(self, key: str, default: Any = None) -> Any:
        return self.props.get(key, default)

    @property
    def required(self) -> bool:
        return bool(self.props.get("required"))

    @property
    def target(self) -> str | None:
        """Target entity of a lookup or child table ('kehu_user' for user fields)."""
        return self.props.get("entity")

    @property
    def picklist(self) -> str | None:
        return self.props.get("picklist")

    @property
    def help(self) -> Label | None:
        raw = self.props.get("help")
        return Label.of(raw) if raw else None

    def grants(self, action: str, key: str = "grants") -> bool:
        """Whether the field grants ``action`` (read or write) on its record: ``grants`` to
        the user a user field names, ``grants_manager`` to the manager of the department a
        field names. Write includes read."""
        declared = self.props.get(key) or ()
        return action in declared or (action == "read" and "write" in declared)


@dataclass(frozen=True, eq=False)
class Rule:
    name: str
    expression: str
    message: Label
    field: str | None


@dataclass(frozen=True, eq=False)
class Entity:
    name: str
    label: Label
    plural_label: Label
    module: str | None
    nav_order: int
    child_of: str | None
    title_field: str
    search_fields: tuple[str, ...]
    default_sort: str
    fields: Mapping[str, Field]
    indexes: tuple[Mapping, ...]
    rules: tuple[Rule, ...]

    def field(self, name: str) -> Field:
        return self.fields[name]

    def has_field(self, name: str) -> bool:
        return name in self.fields

    def user_fields(self) -> list[Field]:
        return [f for f in self.fields.values() if not f.system]

    def lookups(self) -> list[Field]:
        return [f for f in self.fields.values() if f.type in ("lookup", "user")]

    def child_tables(self) -> list[Field]:
        return [f for f in self.fields.values() if f.type == "child_table"]

    def formulas(self) -> list[Field]:
        """Formula fields in the order they are computed: one that reads another formula
        comes after it (loops are refused when the metadata loads), else in field order."""
        return list(self._formula_order)

    @cached_property
    def _formula_order(self) -> tuple[Field, ...]:
        from kehu import expressions

        pending = [f for f in self.fields.values() if f.type == "formula"]
        names = {f.name for f in pending}
        reads = {}
        for f in pending:
            try:
                reads[f.name] = expressions.names(f.get("expression") or "") & names - {f.name}
            except expressions.ExpressionError:
                reads[f.name] = set()
        done: list[Field] = []
        while pending:
            ready = [f for f in pending if reads[f.name] <= {d.name for d in done}] or pending[:1]
            done.append(ready[0])
            pending.remove(ready[0])
        return tuple(done)

    def granting_fields(self) -> list[Field]:
        """Fields that grant access to the records they name someone in (``grants``,
        ``grants_manager``)."""
        return [f for f in self.fields.values() if f.get("grants") or f.get("grants_manager")]


@dataclass(frozen=True, eq=False)
class Option:
    key: str
    label: Label
    parent: str | None
    retired: bool
    color: str | None


@dataclass(frozen=True, eq=False)
class Picklist:
    name: str
    label: Label
    parent: str | None
    options: tuple[Option, ...]

    @cached_property
    def _by_key(self) -> dict[str, Option]:
        return {o.key: o for o in self.options}

    def option(self, key: str) -> Option | None:
        return self._by_key.get(key)

    def active(self, parent_key: str | None = None) -> list[Option]:
        """Options offered for new values, filtered to ``parent_key`` in a cascade."""
        return [
            o for o in self.options
            if not o.retired and (self.parent is None or parent_key is None or o.parent == parent_key)
        ]

    def keys(self) -> set[str]:
        return {o.key for o in self.options}


@dataclass(frozen=True, eq=False)
class Section:
    name: str
    label: Label | None
    tab: Label | None
    columns: int
    fields: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Related:
    entity: str
    field: str
    label: Label | None
    columns: tuple[str, ...]
    limit: int


@dataclass(frozen=True, eq=False)
class TimelineSource:
    """Records of ``entity`` whose lookup ``field`` points at the record, placed on its
    timeline by ``date`` and shown with their ``status`` (None: no status)."""

    entity: str
    field: str
    date: str
    status: str | None


@dataclass(frozen=True, eq=False)
class Layout:
    entity: str
    type: str
    sections: tuple[Section, ...] = ()
    related: tuple[Related, ...] = ()
    timeline: tuple[TimelineSource, ...] = ()
    columns: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    page_size: int = 50

    def field_names(self) -> list[str]:
        seen: list[str] = []
        for section in self.sections:
            seen.extend(f for f in section.fields if f not in seen)
        return seen


@dataclass(frozen=True, eq=False)
class Role:
    name: str
    label: Label
    permissions: Mapping[str, Mapping[str, str]]
    field_access: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True, eq=False)
class Approver:
    """One approver rule: ``kind`` is role, manager, manager_chain, field, users, department
    or department_field; ``value`` its argument."""

    kind: str
    value: Any

    def describe(self, locale: str | None, roles: Mapping[str, "Role"] | None = None) -> str:
        """The rule in words; with ``roles``, a role is named by its label."""
        zh = (locale or "").startswith("zh")
        value = ", ".join(self.value) if isinstance(self.value, (list, tuple)) else self.value
        if self.kind == "role" and roles and self.value in roles:
            value = roles[self.value].label.get(locale)
        texts = {
            "role": (f"everyone with the role {value}", f"角色“{value}”的所有人"),
            "manager": (f"the {value}'s department manager", f"{'提交人' if value == 'submitter' else '负责人'}的部门经理"),
            "manager_chain": (f"the submitter's managers, {value} level(s) up", f"提交人向上 {value} 级经理"),
            "field": (f"the user in field {value}", f"字段 {value} 中的用户"),
            "users": (f"users {value}", f"用户 {value}"),
            "department": (f"the manager of department {value}", f"部门 {value} 的经理"),
            "department_field": (f"the manager of the department named in {value}", f"字段 {value} 所指部门的经理"),
        }
        en, cn = texts.get(self.kind, (f"{self.kind}: {value}", f"{self.kind}: {value}"))
        return cn if zh else en


@dataclass(frozen=True, eq=False)
class Step:
    name: str
    label: Label
    when: str | None
    approvers: tuple[Approver, ...]
    mode: str
    time_limit_hours: float | None
    on_approve: Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class Workflow:
    """An approval workflow. Built from its raw (merged) document, which is also what an
    approval in flight stores, so it keeps running on the version it started with."""

    name: str
    label: Label
    entity: str
    entry: str | None
    priority: int
    enabled: bool
    on_submit: Mapping[str, Any]
    on_approve: Mapping[str, Any]
    on_reject: Mapping[str, Any]
    on_recall: Mapping[str, Any]
    steps: tuple[Step, ...]
    raw: Mapping[str, Any]

    @classmethod
    def from_raw(cls, raw: Mapping) -> "Workflow":
        def sets(actions) -> Mapping[str, Any]:
            return freeze(dict((actions or {}).get("set") or {}))

        steps = tuple(
            Step(
                name=s["name"],
                label=Label.of(s.get("label"), s["name"]),
                when=s.get("when"),
                approvers=tuple(Approver(*next(iter(a.items()))) for a in s.get("approvers", [])),
                mode=s.get("mode", "any"),
                time_limit_hours=s.get("time_limit_hours"),
                on_approve=sets(s.get("on_approve")),
            )
            for s in raw.get("steps", [])
        )
        return cls(
            name=raw["name"], label=Label.of(raw.get("label"), raw["name"]), entity=raw["entity"],
            entry=raw.get("entry"), priority=raw.get("priority", 100), enabled=raw.get("enabled", True),
            on_submit=sets(raw.get("on_submit")), on_approve=sets(raw.get("on_approve")),
            on_reject=sets(raw.get("on_reject")), on_recall=sets(raw.get("on_recall")),
            steps=steps, raw=freeze(dict(raw)),
        )

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)


def thaw(value: Any) -> Any:
    """The plain (JSON-able) form of a frozen value."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True, eq=False)
class Module:
    """A group of the navigation menu; entities name the module they appear under."""

    name: str
    label: Label
    order: int = 100
    icon: str | None = None


# where entities that name no module are listed
OTHER_MODULE = Module("other", Label("Other", "其他"), 10_000)


@dataclass(frozen=True, eq=False)
class AssignmentRule:
    """One rule of an assignment: when it applies, who can be chosen and how."""

    name: str
    label: Label
    when: str | None
    strategy: str  # round_robin | least_loaded
    pool: Mapping[str, str]  # role / department (code) / team (name): members of all of them
    match: tuple[tuple[str, str], ...]  # (picklist field of the record, user attribute)


@dataclass(frozen=True, eq=False)
class Assignment:
    """How new records of one entity are dispatched to a user (``kind: assignment``)."""

    name: str
    label: Label
    entity: str
    field: str
    owner: bool
    open_field: str | None
    open_values: tuple[str, ...]
    urgency_field: str | None
    urgency_order: tuple[str, ...]
    since: str
    set: Mapping[str, Any]
    notify: Mapping[str, str]
    rules: tuple[AssignmentRule, ...]

    @classmethod
    def from_raw(cls, raw: Mapping) -> "Assignment":
        opened = raw.get("open") or {}
        urgency = raw.get("urgency") or {}
        rules = tuple(
            AssignmentRule(
                name=r["name"], label=Label.of(r.get("label"), r["name"]), when=r.get("when"),
                strategy=r.get("strategy", "round_robin"), pool=freeze(dict(r.get("pool") or {})),
                match=tuple((m["field"], m["attribute"]) for m in r.get("match", [])),
            )
            for r in raw.get("rules", [])
        )
        return cls(
            name=raw["name"], label=Label.of(raw.get("label"), raw["name"]), entity=raw["entity"],
            field=raw.get("field", ""), owner=bool(raw.get("owner")), open_field=opened.get("field"),
            open_values=tuple(opened.get("values", ())), urgency_field=urgency.get("field"),
            urgency_order=tuple(urgency.get("order", ())), since=raw.get("since", "created_at"),
            set=freeze(dict(raw.get("set") or {})), notify=freeze(dict(raw.get("notify") or {})), rules=rules,
        )

    def is_open(self, record: Mapping) -> bool:
        """Whether a record counts as open work (always, when no open states are declared)."""
        return self.open_field is None or record.get(self.open_field) in self.open_values

    def attributes(self) -> dict[str, str]:
        """The user attributes its rules match, each with the record field whose options it takes."""
        return {attribute: fname for rule in self.rules for fname, attribute in rule.match}


@dataclass(frozen=True, eq=False)
class Pack:
    name: str
    label: Label
    version: str
    path: str
    requires: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Metadata:
    version: str
    packs: tuple[Pack, ...]
    entities: Mapping[str, Entity]
    picklists: Mapping[str, Picklist]
    layouts: Mapping[tuple[str, str], Layout]
    roles: Mapping[str, Role]
    workflows: Mapping[str, Workflow] = field(default_factory=lambda: MappingProxyType({}))
    modules: Mapping[str, Module] = field(default_factory=lambda: MappingProxyType({}))
    assignments: Mapping[str, Assignment] = field(default_factory=lambda: MappingProxyType({}))

    def entity(self, name: str) -> Entity:
        return self.entities[name]

    def layout(self, entity: str, kind: str) -> Layout:
        """The layout of that kind, or one derived from the entity's fields."""
        found = self.layouts.get((entity, kind))
        if found is not None:
            return found
        ent = self.entities[entity]
        names = tuple(f.name for f in ent.user_fields() if f.type not in ("child_table", "rich_text", "attachment"))
        if kind == "list":
            return Layout(entity, "list", columns=names[:6], filters=())
        section = Section("main", None, None, 2, tuple(f.name for f in ent.user_fields()))
        return Layout(entity, kind, sections=(section,))

    def nav(self, shown: Callable[[Entity], bool] | None = None) -> list[tuple[Module, list[Entity]]]:
        """Entities grouped by module for the navigation menu, modules in their order (line
        entities left out). With ``shown``, only the entities it accepts (those a user can
        read); a module left with none is left out."""
        grouped: dict[str, list[Entity]] = {}
        for entity in self.entities.values():
            if entity.child_of or (shown is not None and not shown(entity)):
                continue
            module = entity.module if entity.module in self.modules else OTHER_MODULE.name
            grouped.setdefault(module, []).append(entity)
        modules = [self.modules.get(name, OTHER_MODULE) for name in grouped]
        return [(m, sorted(grouped[m.name], key=lambda e: (e.nav_order, e.name)))
                for m in sorted(modules, key=lambda m: (m.order, m.name))]

    def workflows_of(self, entity: str) -> list[Workflow]:
        """The enabled workflows of an entity, in the order they are tried on submit."""
        return sorted((w for w in self.workflows.values() if w.entity == entity and w.enabled),
                      key=lambda w: (w.priority, w.name))

    def assignment_for(self, entity: str) -> Assignment | None:
        """The assignment (dispatch rules) of an entity, if it has one."""
        return next((a for a in self.assignments.values() if a.entity == entity), None)

    def children_of(self, entity: str) -> list[Entity]:
        return [e for e in self.entities.values() if e.child_of == entity]
