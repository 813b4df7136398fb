"""The effective metadata: frozen objects with a small query API.

A change never mutates a snapshot: loading builds a new :class:`Metadata` with its own
content hash (``version``), and the site swaps it in whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Mapping

SYSTEM_FIELDS = ("id", "owner", "created_at", "created_by", "updated_at", "updated_by")
SYSTEM_COLUMNS = SYSTEM_FIELDS + ("row_version", "workflow_state", "deleted_at", "deleted_by")
ACTIONS = ("create", "read", "write", "delete", "export", "import", "assign", "share")
MODULES = ("sales", "service", "marketing", "knowledge", "analysis", "system")


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
    module: str
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
        return [f for f in self.fields.values() if f.type == "formula"]


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
class Layout:
    entity: str
    type: str
    sections: tuple[Section, ...] = ()
    related: tuple[Related, ...] = ()
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
    workflows: Mapping[str, Mapping] = field(default_factory=lambda: MappingProxyType({}))

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

    def nav(self) -> list[tuple[str, list[Entity]]]:
        """Entities grouped by module for the navigation menu (line entities left out)."""
        groups = []
        for module in MODULES:
            items = sorted(
                (e for e in self.entities.values() if e.module == module and not e.child_of),
                key=lambda e: (e.nav_order, e.name),
            )
            if items:
                groups.append((module, items))
        return groups

    def children_of(self, entity: str) -> list[Entity]:
        return [e for e in self.entities.values() if e.child_of == entity]
