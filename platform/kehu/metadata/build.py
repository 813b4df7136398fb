"""Turn the merged raw documents into the frozen :class:`Metadata` snapshot."""

from __future__ import annotations

from types import MappingProxyType

from kehu.metadata.documents import Document
from kehu.metadata.merge import Merged
from kehu.metadata.model import (
    Assignment, Entity, Field, Label, Layout, Metadata, Module, Option, Pack, Picklist, Related, Role, Rule, Section,
    TimelineSource, Workflow, freeze,
)

_SYSTEM = {
    "id": ("integer", {"en": "ID", "zh": "编号"}),
    "owner": ("user", {"en": "Owner", "zh": "负责人"}),
    "created_at": ("datetime", {"en": "Created at", "zh": "创建时间"}),
    "created_by": ("user", {"en": "Created by", "zh": "创建人"}),
    "updated_at": ("datetime", {"en": "Updated at", "zh": "修改时间"}),
    "updated_by": ("user", {"en": "Updated by", "zh": "修改人"}),
}


def system_fields(entity: str) -> dict[str, Field]:
    return {
        name: Field(entity, name, ftype, Label.of(label), MappingProxyType({"read_only": True}), system=True)
        for name, (ftype, label) in _SYSTEM.items()
    }


def _entity(name: str, raw: dict) -> Entity:
    fields: dict[str, Field] = {}
    for fname, fdef in raw.get("fields", {}).items():
        fields[fname] = Field(name, fname, fdef["type"], Label.of(fdef.get("label"), fname), freeze(fdef))
    fields.update(system_fields(name))
    title = raw.get("title_field") or next((f for f in fields if fields[f].type == "text"), "id")
    label = Label.of(raw.get("label"), name)
    return Entity(
        name=name,
        label=label,
        plural_label=Label.of(raw.get("plural_label")) if raw.get("plural_label") else label,
        module=raw.get("module"),
        nav_order=raw.get("nav_order", 100),
        child_of=raw.get("child_of"),
        title_field=title,
        search_fields=tuple(raw.get("search_fields") or [title]),
        default_sort=raw.get("default_sort", "-created_at"),
        fields=MappingProxyType(fields),
        indexes=freeze(raw.get("indexes", [])),
        rules=tuple(
            Rule(r["name"], r["expression"], Label.of(r["message"]), r.get("field"))
            for r in raw.get("rules", [])
        ),
    )


def _picklist(raw: dict) -> Picklist:
    return Picklist(
        name=raw["name"],
        label=Label.of(raw.get("label"), raw["name"]),
        parent=raw.get("parent"),
        options=tuple(
            Option(o["key"], Label.of(o.get("label"), o["key"]), o.get("parent"), bool(o.get("retired")), o.get("color"))
            for o in raw.get("options", [])
        ),
    )


def timeline_source(item, layout_entity: str, entities: dict) -> dict:
    """A timeline source with its defaults filled in: the related entity's only lookup to the
    laid-out entity, ``created_at``, and a ``status`` or ``stage`` picklist when it has one."""
    item = {"entity": item} if isinstance(item, str) else dict(item)
    fields = entities.get(item["entity"], {}).get("fields", {})
    if "field" not in item:
        links = [n for n, f in fields.items() if f.get("type") == "lookup" and f.get("entity") == layout_entity]
        item["field"] = links[0] if len(links) == 1 else None
    item.setdefault("date", "created_at")
    if "status" not in item:
        item["status"] = next((n for n in ("status", "stage") if fields.get(n, {}).get("type") == "picklist"), None)
    return item


def _layout(raw: dict, entities: dict) -> Layout:
    return Layout(
        entity=raw["entity"],
        type=raw["type"],
        sections=tuple(
            Section(
                s["name"],
                Label.of(s["label"]) if s.get("label") else None,
                Label.of(s["tab"]) if s.get("tab") else None,
                s.get("columns", 2),
                tuple(s.get("fields", [])),
            )
            for s in raw.get("sections", [])
        ),
        related=tuple(
            Related(r["entity"], r["field"], Label.of(r["label"]) if r.get("label") else None, tuple(r.get("columns", [])), r.get("limit", 10))
            for r in raw.get("related", [])
        ),
        timeline=tuple(
            TimelineSource(t["entity"], t["field"], t["date"], t["status"])
            for t in (timeline_source(item, raw["entity"], entities) for item in raw.get("timeline", []))
        ),
        columns=tuple(raw.get("columns", [])),
        filters=tuple(raw.get("filters", [])),
        page_size=raw.get("page_size", 50),
    )


def build(merged: Merged, packs: list[list[Document]], version: str) -> Metadata:
    return Metadata(
        version=version,
        packs=tuple(
            Pack(m.data["name"], Label.of(m.data["label"]), m.data["version"], m.file, tuple(m.data.get("requires", [])))
            for m in merged.manifests
        ),
        entities=MappingProxyType({n: _entity(n, raw) for n, raw in merged.entities.items()}),
        picklists=MappingProxyType({n: _picklist(raw) for n, raw in merged.picklists.items()}),
        layouts=MappingProxyType({k: _layout(raw, merged.entities) for k, raw in merged.layouts.items()}),
        roles=MappingProxyType({
            n: Role(n, Label.of(raw.get("label"), n), freeze(raw.get("permissions", {})), freeze(raw.get("fields", {})))
            for n, raw in merged.roles.items()
        }),
        workflows=MappingProxyType({n: Workflow.from_raw(raw) for n, raw in merged.workflows.items()}),
        modules=MappingProxyType({
            n: Module(n, Label.of(raw.get("label"), n), raw.get("order", 100), raw.get("icon"))
            for n, raw in merged.modules.items()
        }),
        assignments=MappingProxyType({n: Assignment.from_raw(raw) for n, raw in merged.assignments.items()}),
    )
