"""Semantic checks that JSON Schema cannot express, run on each document against the merge.

Rules:
- entity and field names are not reserved (system columns, ``kehu_`` prefix, SQL words);
- every field's type is registered, carries the properties its type needs and none it
  cannot use;
- lookups and child tables point at existing entities; a child table's ``link_field`` is a
  lookup on the child pointing back; picklists exist; ``depends_on`` names a picklist field
  whose list is the parent of this field's list;
- ``title_field``, ``search_fields``, ``default_sort``, index and rule fields exist;
- every expression parses and reads only fields of its entity; a field's ``pattern`` is a
  regular expression RE2 runs (linear time: no back-references or look-arounds);
- a field's ``default`` is a value of the field (read as typed input is, within its column
  and an option of its picklist), and only fields people fill in have one;
- nothing refers to itself in a loop: formulas reading each other, entities that are lines
  of each other (``child_of``), cascading fields (``depends_on``) and picklists (``parent``)
  that depend on each other are refused with the loop written out ("a -> b -> a");
- a later pack's entity extension extends an entity that exists (a new entity needs a label);
- an entity's ``module`` names a module some pack defines; a new module needs a label;
- cascading options name a parent key that exists; option keys are unique;
- layouts name an existing entity and existing fields, at most once; related lists use a
  lookup of the related entity that points here; timeline sources too (the only one, or the
  one named), with a date or datetime field and a picklist status;
- roles name existing entities and fields;
- fields that grant access and assignment documents: see :mod:`kehu.metadata.dispatch_checks`;
- workflows run on an existing top-level entity, their conditions parse and read only its
  fields, approver rules name existing roles and user or department fields, and the values
  they set are fields that can be set, with valid picklist keys;
- a lookup's ``fill`` sets fields of its own entity that can be set, from fields of the
  looked-up entity of a compatible type (a child table from a child table); its
  ``new_action.when`` reads only fields of the looked-up entity; ``stamp_when`` parses.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Mapping

from kehu import expressions
from kehu.fields import patterns
from kehu.metadata.documents import Document
from kehu.metadata.merge import Merged
from kehu.metadata.model import SYSTEM_COLUMNS, SYSTEM_FIELDS, Field, Label, freeze
from kehu.metadata.problems import Problem, did_you_mean

RESERVED_ENTITIES = {
    "app", "api", "static", "new", "login", "logout", "user", "users", "order", "group",
    "select", "table", "from", "where", "index", "default", "check", "column", "session",
}
COMMON_PROPS = {
    "type", "label", "help", "required", "required_if", "visible_if", "read_only", "filterable",
    "renamed_from", "default", "unique",
    "grants", "grants_manager",  # on which types: kehu.metadata.dispatch_checks
}


def check(packs: list[list[Document]], merged: Merged, field_types: Mapping, problems: list[Problem]) -> None:
    from kehu.metadata import dispatch_checks  # granting fields and assignments (it imports helpers from here)

    for docs in packs:
        for doc in docs:
            checker = {"entity": _entity, "picklist": _picklist, "layout": _layout, "role": _role,
                       "workflow": _workflow, "module": _module, "assignment": dispatch_checks.assignment}.get(doc.kind)
            if checker:
                checker(doc, merged, field_types, problems)
            if doc.kind == "entity":
                dispatch_checks.grants(doc, merged, field_types, problems)


def _module(doc: Document, merged: Merged, field_types, problems: list[Problem]) -> None:
    if merged.module_docs.get(doc.data["name"]) is doc and "label" not in doc.data:
        problems.append(doc.problem(("name",), f"module '{doc.data['name']}' is not defined by an earlier pack, so it needs a 'label' with en and zh"))


def _fields_of(merged: Merged, entity: str) -> set[str]:
    return set(merged.entities.get(entity, {}).get("fields", {})) | set(SYSTEM_FIELDS)


def _entity(doc: Document, merged: Merged, field_types: Mapping, problems: list[Problem]) -> None:
    data = doc.data
    name = data["name"]
    add = problems.append
    is_definition = merged.entity_docs.get(name) is doc
    if is_definition:
        if name.startswith("kehu_") or name in RESERVED_ENTITIES:
            add(doc.problem(("name",), f"'{name}' is a reserved name; choose another (for example '{name}_record')"))
        if "label" not in data:
            add(doc.problem(("name",), f"entity '{name}' is not defined by an earlier pack, so it needs a 'label' (a later pack can only extend existing entities)", about=("entity", name)))
    entity = merged.entities.get(name, {})
    all_fields = entity.get("fields", {})
    known = _fields_of(merged, name)
    for fname, fdef in data.get("fields", {}).items():
        path = ("fields", fname)
        if fname in SYSTEM_COLUMNS or fname.startswith("kehu_"):
            add(doc.problem(path, f"'{fname}' is a system field; every entity already has it"))
            continue
        ftype_name = all_fields.get(fname, fdef).get("type")
        if ftype_name is None:
            add(doc.problem(path, "a field needs a 'type'"))
            continue
        ftype = field_types.get(ftype_name)
        if ftype is None:
            add(doc.problem(path + ("type",), f"unknown field type '{ftype_name}'.{did_you_mean(ftype_name, field_types)}"))
            continue
        if merged.field_docs.get((name, fname)) is doc and "label" not in fdef:
            add(doc.problem(path, "a field needs a 'label' with en and zh"))
        article = "an" if ftype_name[:1] in "aeiou" else "a"
        for prop in fdef:
            if prop not in COMMON_PROPS and prop not in ftype.props:
                add(doc.problem(path + (prop,), f"'{prop}' does not apply to {article} {ftype_name} field"))
        for prop in ftype.requires:
            if prop not in all_fields.get(fname, fdef):
                add(doc.problem(path, f"{article} {ftype_name} field needs '{prop}'"))
        _field_refs(doc, path, name, fname, all_fields.get(fname, fdef), merged, known, problems)
        if "default" in fdef:
            _default(doc, path, name, fname, dict(all_fields.get(fname, fdef), default=fdef["default"]), ftype, merged, problems)
    if "module" in data and data["module"] not in merged.modules:
        add(doc.problem(("module",), f"unknown module '{data['module']}'; define it in metadata/modules/ "
                                     f"(kind: module) or use one of: {', '.join(sorted(merged.modules)) or 'none defined'}."
                                     f"{did_you_mean(data['module'], merged.modules)}"))
    _loops(doc, name, merged, problems)
    if "child_of" in data and data["child_of"] not in merged.entities:
        add(doc.problem(("child_of",), f"unknown entity '{data['child_of']}'.{did_you_mean(data['child_of'], merged.entities)}", about=("entity", data["child_of"])))
    for key in ("title_field",):
        if key in data and data[key] not in known:
            add(doc.problem((key,), f"unknown field '{data[key]}'.{did_you_mean(data[key], known)}", about=("entity", name)))
    for i, fname in enumerate(data.get("search_fields", [])):
        if fname not in known:
            add(doc.problem(("search_fields", i), f"unknown field '{fname}'.{did_you_mean(fname, known)}", about=("entity", name)))
    if "default_sort" in data and data["default_sort"].lstrip("-") not in known:
        add(doc.problem(("default_sort",), f"unknown field '{data['default_sort'].lstrip('-')}'", about=("entity", name)))
    for i, index in enumerate(data.get("indexes", [])):
        for j, fname in enumerate(index["fields"]):
            if fname not in known:
                add(doc.problem(("indexes", i, "fields", j), f"unknown field '{fname}'.{did_you_mean(fname, known)}", about=("entity", name)))
    for i, rule in enumerate(data.get("rules", [])):
        # a rule may also read the record's approval state (e.g. "only approved through the workflow")
        _expression(doc, ("rules", i, "expression"), rule["expression"], known | {"workflow_state"}, problems)
        if "field" in rule and rule["field"] not in known:
            add(doc.problem(("rules", i, "field"), f"unknown field '{rule['field']}'.{did_you_mean(rule['field'], known)}", about=("entity", name)))


def _field_refs(doc, path, entity, fname, fdef, merged: Merged, known, problems) -> None:
    add = problems.append
    target = fdef.get("entity")
    if target is not None and target not in merged.entities:
        add(doc.problem(path + ("entity",), f"lookup to unknown entity '{target}'.{did_you_mean(target, merged.entities)}", about=("entity", target)))
    if fdef.get("type") == "child_table" and target in merged.entities:
        link = fdef.get("link_field")
        child_fields = merged.entities[target].get("fields", {})
        link_def = child_fields.get(link)
        if link_def is None:
            add(doc.problem(path + ("link_field",), f"entity '{target}' has no field '{link}'.{did_you_mean(link, child_fields)}"))
        elif link_def.get("type") != "lookup" or link_def.get("entity") != entity:
            add(doc.problem(path + ("link_field",), f"'{target}.{link}' must be a lookup to '{entity}'"))
    picklist = fdef.get("picklist")
    if picklist is not None and picklist not in merged.picklists:
        add(doc.problem(path + ("picklist",), f"unknown picklist '{picklist}'.{did_you_mean(picklist, merged.picklists)}", about=("picklist", picklist)))
    parent_field = fdef.get("depends_on")
    if parent_field is not None:
        fields = merged.entities.get(entity, {}).get("fields", {})
        parent_def = fields.get(parent_field)
        if parent_def is None:
            add(doc.problem(path + ("depends_on",), f"unknown field '{parent_field}'.{did_you_mean(parent_field, fields)}", about=("entity", entity)))
        elif picklist in merged.picklists and merged.picklists[picklist].get("parent") != parent_def.get("picklist"):
            add(doc.problem(path + ("depends_on",), f"picklist '{picklist}' is not a child of '{parent_def.get('picklist')}', the list of field '{parent_field}'"))
    for prop in ("expression", "required_if", "visible_if", "stamp_when"):
        if prop in fdef:
            _expression(doc, path + (prop,), fdef[prop], known, problems)
    if target in merged.entities and fdef.get("type") == "lookup":
        if "fill" in fdef:
            _fill(doc, path + ("fill",), entity, fname, fdef["fill"], target, merged, problems)
        if "when" in fdef.get("new_action", {}):
            _expression(doc, path + ("new_action", "when"), fdef["new_action"]["when"], _fields_of(merged, target), problems)
    if fdef.get("pattern"):
        problem = patterns.problem(fdef["pattern"])
        if problem:
            add(doc.problem(path + ("pattern",), problem))


def _default(doc, path, entity, fname, fdef, ftype, merged: Merged, problems) -> None:
    """The default is a value of the field, as the field reads typed input."""
    where = path + ("default",)
    raw = fdef["default"]
    if ftype.computed or not ftype.stored or fdef.get("type") == "attachment":
        problems.append(doc.problem(where, f"a {fdef.get('type')} field has no default; it is not typed in"))
        return
    fld = Field(entity, fname, fdef["type"], Label.of(fdef.get("label"), fname), freeze(fdef))
    problem = ftype.default_problem(fld)
    if problem:
        hint = " (a date is written YYYY-MM-DD, or 'today')" if fdef["type"] == "date" else (
            " (a date and time is written YYYY-MM-DD HH:MM, or 'now')" if fdef["type"] == "datetime" else "")
        problems.append(doc.problem(where, f"default {raw!r} is not a valid {fdef['type']}: {problem}{hint}"))
        return
    picklist = merged.picklists.get(fdef.get("picklist") or "")
    if picklist is not None:
        keys = {o["key"] for o in picklist.get("options", []) if not o.get("retired")}
        value = ftype.parse_default(raw, fld)
        chosen = [value] if fdef["type"] == "picklist" else json.loads(value or "[]")
        for key in chosen:
            if key not in keys:
                problems.append(doc.problem(where, f"default '{key}' is not an option of '{fdef['picklist']}'.{did_you_mean(key, keys)}"))


def _loops(doc: Document, entity: str, merged: Merged, problems: list[Problem]) -> None:
    """Formulas reading each other, entities that are lines of each other, cascading fields
    depending on each other: each loop is one problem, at the document that defines the
    loop's first member (so it is reported once, however many documents take part)."""
    fields = merged.entities.get(entity, {}).get("fields", {})
    formulas = {n: f for n, f in fields.items() if f.get("type") == "formula"}

    def reads(name: str) -> list[str]:
        try:
            used = expressions.names(formulas[name].get("expression", ""))
        except expressions.ExpressionError:
            return []  # reported with the field
        return [n for n in formulas if n in used]

    for loop in _cycles(list(formulas), reads):
        if merged.field_docs.get((entity, loop[0])) is doc:
            problems.append(doc.problem(("fields", loop[0], "expression"),
                                        f"formulas read each other in a loop: {' -> '.join(loop)}; "
                                        "one of them must be computed from other fields"))
    cascading = {n: f["depends_on"] for n, f in fields.items() if f.get("depends_on") in fields}
    for loop in _cycles(list(cascading), lambda n: [cascading[n]] if cascading[n] in cascading else []):
        if merged.field_docs.get((entity, loop[0])) is doc:
            problems.append(doc.problem(("fields", loop[0], "depends_on"),
                                        f"cascading fields depend on each other in a loop: {' -> '.join(loop)}"))
    if merged.entity_docs.get(entity) is doc and merged.entities[entity].get("child_of"):
        def parent(n: str) -> list[str]:
            target = merged.entities.get(n, {}).get("child_of")
            return [target] if target in merged.entities else []

        for loop in _cycles(sorted(merged.entities), parent):
            if loop[0] == entity:
                problems.append(doc.problem(("child_of",), f"entities are lines of each other in a loop: {' -> '.join(loop)}; "
                                                           "a line entity's parent is a top-level entity"))


def _cycles(nodes: list[str], edges) -> list[list[str]]:
    """Every loop through ``nodes`` (``edges(n)`` lists what n points to), each written from
    its earliest member in ``nodes`` order and back to it: ['a', 'b', 'a']. Iterative, so a
    long chain cannot exhaust the stack."""
    order = {n: i for i, n in enumerate(nodes)}
    found: dict[tuple[str, ...], list[str]] = {}
    for start in nodes:
        stack = [(start, iter(edges(start)), [start])]
        seen = {start}
        while stack:
            node, children, path = stack[-1]
            nxt = next(children, None)
            if nxt is None:
                stack.pop()
                continue
            if nxt == start:
                loop = path + [start]
                first = min(loop[:-1], key=lambda n: order.get(n, len(order)))
                i = loop.index(first)
                canonical = loop[i:-1] + loop[:i] + [first]
                found.setdefault(tuple(sorted(loop[:-1])), canonical)
            elif nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, iter(edges(nxt)), path + [nxt]))
    return list(found.values())


NUMERIC_TYPES = frozenset({"integer", "decimal", "currency", "percent"})
TEXT_TYPES = frozenset({"text", "textarea", "email", "phone", "url", "autonumber"})
# what a filled field of each type accepts (besides its own type); formulas by result type
FILL_ACCEPTS = {
    "decimal": NUMERIC_TYPES, "currency": NUMERIC_TYPES, "percent": NUMERIC_TYPES, "integer": {"integer"},
    "text": TEXT_TYPES, "textarea": TEXT_TYPES | {"rich_text"}, "rich_text": TEXT_TYPES | {"rich_text"},
    "datetime": {"date", "datetime"},
}
FILLABLE_TYPES = NUMERIC_TYPES | TEXT_TYPES - {"autonumber"} | {
    "rich_text", "boolean", "date", "datetime", "picklist", "multi_picklist", "lookup", "user", "child_table"}


def _fill(doc, path, entity, fname, fill, target, merged: Merged, problems) -> None:
    """``fill: {this_field: field_of_target}`` of lookup ``fname``: both fields exist, the
    filled one can be set, and the two types fit (same picklist, same lookup target)."""
    add = problems.append
    own = merged.entities.get(entity, {}).get("fields", {})
    theirs = merged.entities.get(target, {}).get("fields", {})
    for to, source in fill.items():
        where = path + (to,)
        tdef, sdef = own.get(to), theirs.get(source)
        if tdef is None:
            add(doc.problem(where, f"entity '{entity}' has no field '{to}' to fill.{did_you_mean(to, own)}"))
            continue
        if to == fname or tdef.get("type") not in FILLABLE_TYPES or tdef.get("read_only"):
            add(doc.problem(where, f"'{to}' cannot be filled: it is {'the lookup itself' if to == fname else 'computed or read-only'}"))
            continue
        if sdef is None:
            add(doc.problem(where, f"entity '{target}' has no field '{source}'.{did_you_mean(source, theirs)}"))
            continue
        ttype, stype = tdef["type"], sdef.get("type")
        if stype == "formula":
            stype = {"text": "text", "integer": "integer", "date": "date", "boolean": "boolean"}.get(
                sdef.get("result_type", "decimal"), "decimal")
        same_list = tdef.get("picklist") == sdef.get("picklist")
        same_target = tdef.get("entity") == sdef.get("entity")
        fits = (stype == ttype and (ttype not in ("picklist", "multi_picklist") or same_list)
                and (ttype not in ("lookup", "child_table") or same_target or ttype == "child_table")) \
            or stype in FILL_ACCEPTS.get(ttype, ())
        if not fits:
            detail = f" of picklist '{sdef.get('picklist')}'" if stype in ("picklist", "multi_picklist") else (
                f" to '{sdef.get('entity')}'" if stype == "lookup" else "")
            add(doc.problem(where, f"'{target}.{source}' is a {stype} field{detail}; it cannot fill the {ttype} field '{to}'"))


def _expression(doc, path, source, known, problems) -> None:
    try:
        expressions.check(source, known)
    except expressions.ExpressionError as exc:
        problems.append(doc.problem(path, f"bad expression {source!r}: {exc}"))


def _picklist(doc: Document, merged: Merged, field_types, problems: list[Problem]) -> None:
    data = doc.data
    name = data["name"]
    if merged.picklist_docs.get(name) is doc and "label" not in data:
        problems.append(doc.problem(("name",), f"picklist '{name}' is not defined by an earlier pack, so it needs a 'label'", about=("picklist", name)))
    seen: dict[str, int] = {}
    parent_name = merged.picklists.get(name, {}).get("parent")
    if parent_name is not None and parent_name not in merged.picklists:
        problems.append(doc.problem(("parent",), f"unknown picklist '{parent_name}'.{did_you_mean(parent_name, merged.picklists)}", about=("picklist", parent_name)))
        parent_name = None
    parent_keys = {o["key"] for o in merged.picklists.get(parent_name, {}).get("options", [])} if parent_name else set()
    for i, option in enumerate(data.get("options", [])):
        key = option["key"]
        if key in seen:
            problems.append(doc.problem(("options", i, "key"), f"duplicate option key '{key}' (also item {seen[key]})"))
        seen[key] = i
        is_new = "label" in option or merged.picklist_docs.get(name) is doc
        if is_new and "label" not in option:
            problems.append(doc.problem(("options", i), f"option '{key}' needs a 'label' with en and zh"))
        if parent_name and is_new and "parent" not in option and merged.picklist_docs.get(name) is doc:
            problems.append(doc.problem(("options", i), f"option '{key}' of a cascading list needs 'parent' (a key of '{parent_name}')"))
        if "parent" in option and parent_name is None:
            problems.append(doc.problem(("options", i, "parent"), "only options of a list with a 'parent' list can name a parent option"))
        elif "parent" in option and option["parent"] not in parent_keys:
            problems.append(doc.problem(("options", i, "parent"), f"'{option['parent']}' is not an option of '{parent_name}'.{did_you_mean(option['parent'], parent_keys)}"))
    if merged.picklist_docs.get(name) is doc and merged.picklists.get(name, {}).get("parent"):
        def parent(n: str) -> list[str]:
            target = merged.picklists.get(n, {}).get("parent")
            return [target] if target in merged.picklists else []

        for loop in _cycles(sorted(merged.picklists), parent):
            if loop[0] == name:
                problems.append(doc.problem(("parent",), f"picklists are each other's parents in a loop: {' -> '.join(loop)}"))
    all_keys = {o["key"] for o in merged.picklists.get(name, {}).get("options", [])}
    for i, key in enumerate(data.get("order", [])):
        if key not in all_keys:
            problems.append(doc.problem(("order", i), f"'{key}' is not an option of '{name}'.{did_you_mean(key, all_keys)}"))


def _layout(doc: Document, merged: Merged, field_types, problems: list[Problem]) -> None:
    data = doc.data
    entity = data["entity"]
    add = problems.append
    if entity not in merged.entities:
        add(doc.problem(("entity",), f"unknown entity '{entity}'.{did_you_mean(entity, merged.entities)}", about=("entity", entity)))
        return
    known = _fields_of(merged, entity)
    kind = data["type"]
    for prop in ("sections", "related"):
        if prop in data and kind == "list":
            add(doc.problem((prop,), f"a list layout has no '{prop}'; use 'columns' and 'filters'"))
    for prop in ("columns", "filters", "page_size"):
        if prop in data and kind != "list":
            add(doc.problem((prop,), f"'{prop}' belongs to list layouts"))
    if "related" in data and kind != "detail":
        add(doc.problem(("related",), "related lists belong to detail layouts"))
    if "timeline" in data and kind != "detail":
        add(doc.problem(("timeline",), "a timeline belongs to detail layouts"))
    for i, item in enumerate(data.get("timeline", [])):
        _timeline_source(doc, ("timeline", i), item, entity, merged, problems)
    placed: dict[str, tuple] = {}
    for i, section in enumerate(data.get("sections", [])):
        for j, fname in enumerate(section.get("fields", [])):
            path = ("sections", i, "fields", j)
            if fname not in known:
                add(doc.problem(path, f"section '{section['name']}' lists field '{fname}', which entity '{entity}' does not define.{did_you_mean(fname, known)}"))
            elif fname in placed:
                add(doc.problem(path, f"field '{fname}' is already placed at {'.'.join(map(str, placed[fname]))}"))
            placed[fname] = path
    for prop in ("columns", "filters"):
        for i, fname in enumerate(data.get(prop, [])):
            if fname not in known:
                add(doc.problem((prop, i), f"unknown field '{fname}' of entity '{entity}'.{did_you_mean(fname, known)}", about=("entity", entity)))
            elif prop == "columns" and merged.entities[entity].get("fields", {}).get(fname, {}).get("type") == "child_table":
                add(doc.problem((prop, i), f"'{fname}' is a child table and cannot be a list column"))
    for i, rel in enumerate(data.get("related", [])):
        target = rel["entity"]
        if target not in merged.entities:
            add(doc.problem(("related", i, "entity"), f"unknown entity '{target}'.{did_you_mean(target, merged.entities)}", about=("entity", target)))
            continue
        tfields = merged.entities[target].get("fields", {})
        link = tfields.get(rel["field"])
        if link is None or link.get("type") != "lookup" or link.get("entity") != entity:
            links = [n for n, f in tfields.items() if f.get("type") == "lookup" and f.get("entity") == entity]
            hint = did_you_mean(rel["field"], links) or (
                f" Use {', '.join(repr(n) for n in links)}." if links else f" '{target}' has no lookup to '{entity}'.")
            add(doc.problem(("related", i, "field"), f"'{target}.{rel['field']}' is not a lookup to '{entity}'.{hint}", about=("entity", target)))
        tknown = _fields_of(merged, target)
        for j, col in enumerate(rel.get("columns", [])):
            if col not in tknown:
                add(doc.problem(("related", i, "columns", j), f"unknown field '{col}' of entity '{target}'.{did_you_mean(col, tknown)}", about=("entity", target)))


DATE_TYPES = ("date", "datetime")


def _timeline_source(doc: Document, path, item, entity: str, merged: Merged, problems: list[Problem]) -> None:
    """A timeline source names an entity with a lookup to ``entity`` (the only one, unless
    ``field`` names it), a date field and a picklist status field."""
    add = problems.append
    name = item if isinstance(item, str) else item["entity"]
    here = path if isinstance(item, str) else path + ("entity",)
    if name not in merged.entities:
        add(doc.problem(here, f"unknown entity '{name}'.{did_you_mean(name, merged.entities)}"))
        return
    fields = merged.entities[name].get("fields", {})
    links = [n for n, f in fields.items() if f.get("type") == "lookup" and f.get("entity") == entity]
    if isinstance(item, str) or "field" not in item:
        if not links:
            add(doc.problem(here, f"'{name}' has no lookup to '{entity}', so none of its records belong on this timeline"))
        elif len(links) > 1:
            add(doc.problem(here, f"'{name}' has several lookups to '{entity}' ({', '.join(links)}); "
                                  f"name one: {{entity: {name}, field: {links[0]}}}"))
        if isinstance(item, str):
            return
    else:
        link = fields.get(item["field"])
        if link is None or link.get("type") != "lookup" or link.get("entity") != entity:
            hint = did_you_mean(item["field"], links) or (f" Use {', '.join(repr(n) for n in links)}." if links else "")
            add(doc.problem(path + ("field",), f"'{name}.{item['field']}' is not a lookup to '{entity}'.{hint}"))
    if "date" in item and item["date"] not in ("created_at", "updated_at"):
        ftype = fields.get(item["date"], {}).get("type")
        if ftype is None:
            dates = [n for n, f in fields.items() if f.get("type") in DATE_TYPES] + ["created_at", "updated_at"]
            add(doc.problem(path + ("date",), f"unknown field '{item['date']}' of entity '{name}'.{did_you_mean(item['date'], dates)}"))
        elif ftype not in DATE_TYPES:
            add(doc.problem(path + ("date",), f"'{item['date']}' is a {ftype} field; a timeline places records by a date or datetime field"))
    if "status" in item:
        ftype = fields.get(item["status"], {}).get("type")
        if ftype != "picklist":
            picks = [n for n, f in fields.items() if f.get("type") == "picklist"]
            what = f"is a {ftype} field" if ftype else f"is not a field of '{name}'"
            add(doc.problem(path + ("status",), f"'{item['status']}' {what}; the status shown comes from a picklist field.{did_you_mean(item['status'], picks)}"))


def _role(doc: Document, merged: Merged, field_types, problems: list[Problem]) -> None:
    data = doc.data
    if merged.role_docs.get(data["name"]) is doc and "label" not in data:
        problems.append(doc.problem(("name",), f"role '{data['name']}' needs a 'label'"))
    for entity in data.get("permissions", {}):
        if entity != "*" and entity not in merged.entities:
            problems.append(doc.problem(("permissions", entity), f"unknown entity '{entity}'.{did_you_mean(entity, merged.entities)}", about=("entity", entity)))
    for entity, fields in data.get("fields", {}).items():
        if entity not in merged.entities:
            problems.append(doc.problem(("fields", entity), f"unknown entity '{entity}'.{did_you_mean(entity, merged.entities)}", about=("entity", entity)))
            continue
        known = _fields_of(merged, entity)
        for fname in fields:
            if fname not in known:
                problems.append(doc.problem(("fields", entity, fname), f"unknown field '{fname}'.{did_you_mean(fname, known)}", about=("entity", entity)))


USER_SYSTEM_FIELDS = ("owner", "created_by", "updated_by")
# what a workflow's `set` may write: plain values that mean the same on every site
SETTABLE_TYPES = frozenset({"text", "textarea", "email", "phone", "url", "picklist", "boolean", "integer",
                            "decimal", "currency", "percent", "date", "datetime"})


def _workflow(doc: Document, merged: Merged, field_types, problems: list[Problem]) -> None:
    data = doc.data
    name = data["name"]
    add = problems.append
    entity_name = data["entity"]
    defining = merged.workflow_docs.get(name) is doc
    if defining and "label" not in data:
        add(doc.problem(("name",), f"workflow '{name}' needs a 'label' with en and zh"))
    if defining and not merged.workflows[name].get("steps"):
        add(doc.problem(("steps",), "a workflow needs at least one step"))
    entity = merged.entities.get(entity_name)
    if entity is None:
        add(doc.problem(("entity",), f"unknown entity '{entity_name}'.{did_you_mean(entity_name, merged.entities)}", about=("entity", entity_name)))
        return
    if entity.get("child_of"):
        add(doc.problem(("entity",), f"'{entity_name}' is a line of '{entity['child_of']}'; submit the '{entity['child_of']}' instead"))
    fields = entity.get("fields", {})
    known = _fields_of(merged, entity_name)
    if "entry" in data:
        _expression(doc, ("entry",), data["entry"], known, problems)
    for key in ("on_submit", "on_approve", "on_reject", "on_recall"):
        _actions(doc, (key,), data.get(key), entity_name, fields, merged, field_types, problems)
    seen: dict[str, int] = {}
    for i, step in enumerate(data.get("steps", [])):
        path = ("steps", i)
        if step["name"] in seen:
            add(doc.problem(path + ("name",), f"duplicate step '{step['name']}' (also item {seen[step['name']]})"))
        seen[step["name"]] = i
        is_new = merged.step_docs.get((name, step["name"])) is doc
        if is_new and "approvers" not in step:
            add(doc.problem(path, f"step '{step['name']}' needs 'approvers'"))
        if is_new and "label" not in step:
            add(doc.problem(path, f"step '{step['name']}' needs a 'label' with en and zh"))
        if "when" in step:
            _expression(doc, path + ("when",), step["when"], known, problems)
        _actions(doc, path + ("on_approve",), step.get("on_approve"), entity_name, fields, merged, field_types, problems)
        for j, rule in enumerate(step.get("approvers", [])):
            _approver(doc, path + ("approvers", j), rule, entity_name, fields, merged, problems)


def _approver(doc, path, rule: dict, entity_name, fields, merged: Merged, problems) -> None:
    kind, value = next(iter(rule.items()))
    add = problems.append
    if kind == "role" and value not in merged.roles:
        add(doc.problem(path + (kind,), f"unknown role '{value}'.{did_you_mean(value, merged.roles)}", about=("role", value)))
    elif kind == "field":
        ftype = "user" if value in USER_SYSTEM_FIELDS else fields.get(value, {}).get("type")
        if ftype is None:
            add(doc.problem(path + (kind,), f"unknown field '{value}' of entity '{entity_name}'.{did_you_mean(value, set(fields) | set(USER_SYSTEM_FIELDS))}", about=("entity", entity_name)))
        elif ftype != "user":
            add(doc.problem(path + (kind,), f"field '{value}' is a {ftype} field; approvers come from a user field"))
    elif kind == "department_field":
        ftype = fields.get(value, {}).get("type")
        if ftype is None:
            add(doc.problem(path + (kind,), f"unknown field '{value}' of entity '{entity_name}'.{did_you_mean(value, fields)}", about=("entity", entity_name)))
        elif ftype not in ("picklist", "text"):
            add(doc.problem(path + (kind,), f"field '{value}' is a {ftype} field; a department code comes from a picklist or text field"))


FIT_CHECKED = frozenset({"text", "textarea", "email", "phone", "url", "integer", "decimal", "currency", "percent"})


def _actions(doc, path, actions, entity_name, fields, merged: Merged, field_types, problems) -> None:
    add = problems.append
    for fname, value in ((actions or {}).get("set") or {}).items():
        where = path + ("set", fname)
        fdef = fields.get(fname)
        if fdef is None:
            hint = " It is set by the system." if fname in SYSTEM_COLUMNS else did_you_mean(fname, fields)
            add(doc.problem(where, f"unknown field '{fname}' of entity '{entity_name}'.{hint}", about=("entity", entity_name)))
            continue
        ftype_name = fdef.get("type")
        if field_types.get(ftype_name) is None:
            continue  # reported with the entity
        before = len(problems)
        if ftype_name not in SETTABLE_TYPES:
            add(doc.problem(where, f"'{fname}' is a {ftype_name} field and cannot be set by a workflow "
                                   f"(it can set {', '.join(sorted(SETTABLE_TYPES))} fields)"))
        elif value is None:
            if fdef.get("required"):
                add(doc.problem(where, f"'{fname}' is required; a workflow cannot empty it"))
        elif ftype_name in ("date", "datetime"):
            try:
                (dt.date if ftype_name == "date" else dt.datetime).fromisoformat(str(value))
            except ValueError:
                example = "2026-01-31" if ftype_name == "date" else "2026-01-31 09:00:00"
                add(doc.problem(where, f"'{value}' is not a {ftype_name}; write it as '{example}'"))
        elif ftype_name in ("integer", "decimal", "currency", "percent") and not isinstance(value, bool) and isinstance(value, (int, float)):
            low, high = fdef.get("min"), fdef.get("max")
            if (low is not None and value < low) or (high is not None and value > high) or (
                    ftype_name == "integer" and value != int(value)):
                add(doc.problem(where, f"{value} is not a valid value of '{fname}'"
                                       + (f" (from {low} to {high})" if low is not None or high is not None else "")))
        elif ftype_name == "picklist" and value is not None:
            keys = {o["key"] for o in merged.picklists.get(fdef.get("picklist"), {}).get("options", [])}
            if value not in keys:
                add(doc.problem(where, f"'{value}' is not an option of '{fdef.get('picklist')}'.{did_you_mean(str(value), keys)}"))
        elif fdef.get("type") == "boolean" and value is not None and not isinstance(value, bool):
            add(doc.problem(where, f"'{fname}' is a yes/no field; set it to true or false"))
        elif fdef.get("type") in ("integer", "decimal", "currency", "percent") and value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))):
            add(doc.problem(where, f"'{fname}' is a number field; set it to a number"))
        if len(problems) == before and value is not None and ftype_name in FIT_CHECKED:
            # the workflow writes the value as it is: it must fit the column (range, length, no
            # control characters), as typed input must
            fld = Field(entity_name, fname, ftype_name, Label.of(fdef.get("label"), fname), freeze(dict(fdef, default=value)))
            problem = field_types[ftype_name].default_problem(fld)
            if problem:
                add(doc.problem(where, f"{value!r} cannot be stored in '{fname}': {problem}"))
