"""Merge the documents of ordered packs into one raw view, deterministically.

Rules (docs/metadata.md, "Layers"): a later pack adds entities, fields, options, layout
parts and roles, and may override a fixed set of presentation properties. Redefining what
a field *is* (its type, target, picklist) in another document is a conflict naming both
files. The result keeps, for every entity, field, picklist and layout, the document that
defined it, so later checks can point at files and lines.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from kehu.metadata.documents import Document
from kehu.metadata.problems import Problem, did_you_mean

FIELD_OVERRIDABLE = {"label", "help", "default", "required", "required_if", "visible_if", "grants", "grants_manager"}
ENTITY_OVERRIDABLE = {"label", "plural_label", "nav_order", "icon", "module", "search_fields", "default_sort", "title_field"}


@dataclass
class Merged:
    entities: dict[str, dict] = field(default_factory=dict)
    entity_docs: dict[str, Document] = field(default_factory=dict)
    field_docs: dict[tuple[str, str], Document] = field(default_factory=dict)
    picklists: dict[str, dict] = field(default_factory=dict)
    picklist_docs: dict[str, Document] = field(default_factory=dict)
    layouts: dict[tuple[str, str], dict] = field(default_factory=dict)
    layout_docs: dict[tuple[str, str], Document] = field(default_factory=dict)
    roles: dict[str, dict] = field(default_factory=dict)
    role_docs: dict[str, Document] = field(default_factory=dict)
    workflows: dict[str, dict] = field(default_factory=dict)
    workflow_docs: dict[str, Document] = field(default_factory=dict)
    step_docs: dict[tuple[str, str], Document] = field(default_factory=dict)
    modules: dict[str, dict] = field(default_factory=dict)
    module_docs: dict[str, Document] = field(default_factory=dict)
    assignments: dict[str, dict] = field(default_factory=dict)
    assignment_docs: dict[str, Document] = field(default_factory=dict)
    assignment_rule_docs: dict[tuple[str, str], Document] = field(default_factory=dict)
    manifests: list[Document] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "packs": [m.data for m in self.manifests],
            "entities": self.entities,
            "picklists": self.picklists,
            "layouts": {f"{k[0]}.{k[1]}": v for k, v in self.layouts.items()},
            "roles": self.roles,
            "workflows": self.workflows,
            "modules": self.modules,
            "assignments": self.assignments,
        }


def merge(packs: list[list[Document]], problems: list[Problem]) -> Merged:
    out = Merged()
    for docs in packs:
        seen_here: dict[tuple[str, str], Document] = {}
        for doc in docs:
            kind = doc.kind
            if kind == "pack":
                out.manifests.append(doc)
                continue
            key = (kind, _key_of(doc))
            if key in seen_here:
                problems.append(doc.problem(("name",), f"{kind} '{key[1]}' is defined twice in this pack (also in {seen_here[key].file})"))
                continue
            seen_here[key] = doc
            {"entity": _entity, "picklist": _picklist, "layout": _layout, "role": _role, "workflow": _workflow,
             "module": _module, "assignment": _assignment}[kind](out, doc, problems)
    return out


def _key_of(doc: Document) -> str:
    data = doc.data
    return f"{data['entity']}.{data['type']}" if doc.kind == "layout" else data["name"]


def _entity(out: Merged, doc: Document, problems: list[Problem]) -> None:
    data = doc.data
    name = data["name"]
    if name not in out.entities:
        out.entities[name] = copy.deepcopy(data)
        out.entity_docs[name] = doc
        for fname in data.get("fields", {}):
            out.field_docs[(name, fname)] = doc
        return
    target = out.entities[name]
    first = out.entity_docs[name]
    for key, value in data.items():
        if key in ("kind", "name", "fields"):
            continue
        if key in ("indexes", "rules"):
            target.setdefault(key, []).extend(copy.deepcopy(value))
        elif key in ENTITY_OVERRIDABLE:
            target[key] = copy.deepcopy(value)
        elif target.get(key) != value:
            problems.append(doc.problem((key,), f"entity '{name}' property '{key}' conflicts with {first.file}; a later pack may only change {', '.join(sorted(ENTITY_OVERRIDABLE))}"))
    fields = target.setdefault("fields", {})
    for fname, fdef in data.get("fields", {}).items():
        if fname not in fields:
            fields[fname] = copy.deepcopy(fdef)
            out.field_docs[(name, fname)] = doc
            continue
        origin = out.field_docs[(name, fname)]
        for prop, value in fdef.items():
            if prop in FIELD_OVERRIDABLE:
                fields[fname][prop] = copy.deepcopy(value)
            elif fields[fname].get(prop) != value:
                problems.append(doc.problem(("fields", fname, prop), f"field '{name}.{fname}' is defined differently in {origin.file} ({prop}: {fields[fname].get(prop)!r}); a later pack may only change {', '.join(sorted(FIELD_OVERRIDABLE))}"))


def _picklist(out: Merged, doc: Document, problems: list[Problem]) -> None:
    data = doc.data
    name = data["name"]
    if name not in out.picklists:
        out.picklists[name] = copy.deepcopy({k: v for k, v in data.items() if k != "order"})
        out.picklist_docs[name] = doc
        if "order" in data:
            _reorder(out.picklists[name], data["order"])
        return
    target = out.picklists[name]
    first = out.picklist_docs[name]
    if "parent" in data and data["parent"] != target.get("parent"):
        problems.append(doc.problem(("parent",), f"picklist '{name}' has parent '{target.get('parent')}' in {first.file}; a later pack cannot change it"))
    if "label" in data:
        target["label"] = copy.deepcopy(data["label"])
    options = target.setdefault("options", [])
    by_key = {o["key"]: o for o in options}
    for i, option in enumerate(data.get("options", [])):
        existing = by_key.get(option["key"])
        if existing is None:
            options.append(copy.deepcopy(option))
            by_key[option["key"]] = options[-1]
        else:
            if "parent" in option and option["parent"] != existing.get("parent"):
                problems.append(doc.problem(("options", i, "parent"), f"option '{option['key']}' belongs to '{existing.get('parent')}' in {first.file}; a later pack cannot move it"))
            existing.update({k: copy.deepcopy(v) for k, v in option.items() if k in ("label", "retired", "color")})
    if "order" in data:
        _reorder(target, data["order"])


def _reorder(picklist: dict, order: list[str]) -> None:
    rank = {key: i for i, key in enumerate(order)}
    options = picklist.get("options", [])
    picklist["options"] = sorted(options, key=lambda o: (rank.get(o["key"], len(rank)), options.index(o)))


def _layout(out: Merged, doc: Document, problems: list[Problem]) -> None:
    data = doc.data
    key = (data["entity"], data["type"])
    if key not in out.layouts:
        out.layouts[key] = copy.deepcopy(data)
        out.layout_docs[key] = doc
        return
    target = out.layouts[key]
    sections = {s["name"]: s for s in target.setdefault("sections", [])}
    # a field sits in one section only: one an earlier pack placed elsewhere is refused here
    # (repeats inside this document are reported by the checks)
    earlier = [(s["name"], tuple(s.get("fields", []))) for s in target["sections"]]
    for i, section in enumerate(data.get("sections", [])):
        existing = sections.get(section["name"])
        placed = {f: name for name, names in earlier if name != section["name"] for f in names}
        fields = []
        for j, fname in enumerate(section.get("fields", [])):
            if fname in placed:
                problems.append(doc.problem(("sections", i, "fields", j), f"field '{fname}' is already placed in section '{placed[fname]}' of {out.layout_docs[key].file}"))
            else:
                fields.append(fname)
        if existing is None:
            target["sections"].append(dict(copy.deepcopy(section), fields=fields))
            sections[section["name"]] = target["sections"][-1]
            continue
        for prop in ("label", "tab", "columns"):
            if prop in section:
                existing[prop] = copy.deepcopy(section[prop])
        existing.setdefault("fields", []).extend(f for f in fields if f not in existing["fields"])
    related = target.setdefault("related", [])
    for item in data.get("related", []):
        if not any(r["entity"] == item["entity"] and r["field"] == item["field"] for r in related):
            related.append(copy.deepcopy(item))
    timeline = target.setdefault("timeline", []) if "timeline" in data else None
    for item in data.get("timeline", []):
        name = item if isinstance(item, str) else item["entity"]
        if not any((t if isinstance(t, str) else t["entity"]) == name for t in timeline):
            timeline.append(copy.deepcopy(item))
    for prop in ("columns", "filters"):
        if prop in data:
            target.setdefault(prop, []).extend(c for c in data[prop] if c not in target[prop])
    if "page_size" in data:
        target["page_size"] = data["page_size"]


def _role(out: Merged, doc: Document, problems: list[Problem]) -> None:
    data = doc.data
    name = data["name"]
    if name not in out.roles:
        out.roles[name] = copy.deepcopy(data)
        out.role_docs[name] = doc
        return
    target = out.roles[name]
    if "label" in data:
        target["label"] = copy.deepcopy(data["label"])
    for section in ("permissions", "fields"):
        for entity, values in data.get(section, {}).items():
            target.setdefault(section, {}).setdefault(entity, {}).update(copy.deepcopy(values))


def _module(out: Merged, doc: Document, problems: list[Problem]) -> None:
    """A later pack may relabel, reorder or re-icon a module by naming it, and add modules."""
    data = doc.data
    name = data["name"]
    if name not in out.modules:
        out.modules[name] = copy.deepcopy({k: v for k, v in data.items() if k != "kind"})
        out.module_docs[name] = doc
        return
    out.modules[name].update(copy.deepcopy({k: v for k, v in data.items() if k in ("label", "order", "icon")}))


WORKFLOW_OVERRIDABLE = {"label", "description", "entry", "priority", "enabled", "on_submit", "on_approve", "on_reject", "on_recall"}


def _workflow(out: Merged, doc: Document, problems: list[Problem]) -> None:
    """A later pack may change a workflow's label, entry condition, priority, actions and
    switch it off; it changes a step by naming it and adds steps. A step with ``after``
    is placed after the named step (at the end when it has none). The entity a workflow
    runs on never changes."""
    data = doc.data
    name = data["name"]
    if name not in out.workflows:
        out.workflows[name] = copy.deepcopy({k: v for k, v in data.items() if k not in ("kind", "steps")})
        out.workflows[name]["steps"] = []
        out.workflow_docs[name] = doc
    else:
        target = out.workflows[name]
        first = out.workflow_docs[name]
        if data["entity"] != target["entity"]:
            problems.append(doc.problem(("entity",), f"workflow '{name}' runs on '{target['entity']}' in {first.file}; a later pack cannot change its entity"))
        for key in WORKFLOW_OVERRIDABLE & set(data):
            target[key] = copy.deepcopy(data[key])
    steps = out.workflows[name]["steps"]
    for i, step in enumerate(data.get("steps", [])):
        existing = next((s for s in steps if s["name"] == step["name"]), None)
        if existing is None:
            existing = {"name": step["name"]}
            steps.append(existing)
            out.step_docs[(name, step["name"])] = doc
        existing.update({k: copy.deepcopy(v) for k, v in step.items() if k not in ("name", "after")})
        anchor = step.get("after")
        if anchor is None:
            continue
        others = [s for s in steps if s is not existing]
        at = next((j for j, s in enumerate(others) if s["name"] == anchor), None)
        if at is None:
            problems.append(doc.problem(("steps", i, "after"), f"workflow '{name}' has no step '{anchor}' to place this step after.{did_you_mean(anchor, [s['name'] for s in others])}"))
            continue
        others.insert(at + 1, existing)
        steps[:] = others


ASSIGNMENT_OVERRIDABLE = {"label", "description", "owner", "open", "urgency", "since", "set", "notify"}


def _assignment(out: Merged, doc: Document, problems: list[Problem]) -> None:
    """Like a workflow's steps: a later pack may change the presentation and behaviour
    properties, change a rule by naming it, and add rules (placed ``after`` a named one, else
    at the end). The entity and the field it sets never change."""
    data = doc.data
    name = data["name"]
    if name not in out.assignments:
        out.assignments[name] = copy.deepcopy({k: v for k, v in data.items() if k not in ("kind", "rules")})
        out.assignments[name]["rules"] = []
        out.assignment_docs[name] = doc
    else:
        target = out.assignments[name]
        first = out.assignment_docs[name]
        for key in ("entity", "field"):
            if key in data and data[key] != target.get(key):
                problems.append(doc.problem((key,), f"assignment '{name}' has {key} '{target.get(key)}' in {first.file}; a later pack cannot change it"))
        for key in ASSIGNMENT_OVERRIDABLE & set(data):
            target[key] = copy.deepcopy(data[key])
    rules = out.assignments[name]["rules"]
    for i, rule in enumerate(data.get("rules", [])):
        existing = next((r for r in rules if r["name"] == rule["name"]), None)
        if existing is None:
            existing = {"name": rule["name"]}
            rules.append(existing)
            out.assignment_rule_docs[(name, rule["name"])] = doc
        existing.update({k: copy.deepcopy(v) for k, v in rule.items() if k not in ("name", "after")})
        anchor = rule.get("after")
        if anchor is None:
            continue
        others = [r for r in rules if r is not existing]
        at = next((j for j, r in enumerate(others) if r["name"] == anchor), None)
        if at is None:
            problems.append(doc.problem(("rules", i, "after"), f"assignment '{name}' has no rule '{anchor}' to place this rule after.{did_you_mean(anchor, [r['name'] for r in others])}"))
            continue
        others.insert(at + 1, existing)
        rules[:] = others
