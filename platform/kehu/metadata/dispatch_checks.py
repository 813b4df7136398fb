"""Semantic checks of the fields that grant access and of assignment documents.

Rules:
- ``grants`` is declared on user fields only, ``grants_manager`` on picklist or text fields
  (they hold a department code); neither on a line entity (lines follow their parent);
- an assignment runs on an existing top-level entity, one document per entity, and sets a
  user field of it;
- its ``open`` and ``urgency`` fields are picklist fields and their values options of them;
  ``since`` is a date or datetime field; ``set`` names fields a dispatch can set, with valid
  values; ``notify`` names an existing role;
- its rules have unique names, a label, a pool (an existing role, if one is named) and a
  ``when`` that parses and reads only the entity's fields; a rule's ``match`` compares a
  picklist field; ``least_loaded`` needs the ``open`` states to count the load.
"""

from __future__ import annotations

from kehu.metadata.checks import _actions, _expression, _fields_of
from kehu.metadata.documents import Document
from kehu.metadata.merge import Merged
from kehu.metadata.problems import Problem, did_you_mean

GRANT_TYPES = {"grants": ("user",), "grants_manager": ("picklist", "text")}


def _a(type_name) -> str:
    """'a text field', 'an integer field'."""
    return f"{'an' if str(type_name)[:1] in 'aeiou' else 'a'} {type_name}"


def grants(doc: Document, merged: Merged, field_types, problems: list[Problem]) -> None:
    """``grants`` / ``grants_manager`` of the fields an entity document declares or changes."""
    data = doc.data
    entity = merged.entities.get(data["name"], {})
    fields = entity.get("fields", {})
    for fname, fdef in data.get("fields", {}).items():
        ftype = fields.get(fname, fdef).get("type")
        for key, types in GRANT_TYPES.items():
            if key not in fdef:
                continue
            path = ("fields", fname, key)
            if ftype not in types:
                what = ("user fields: the user a field names gets access" if key == "grants"
                        else "picklist or text fields holding a department code: that department's manager gets access")
                problems.append(doc.problem(path, f"'{key}' applies to {what}; '{fname}' is {_a(ftype)} field"))
            elif entity.get("child_of"):
                problems.append(doc.problem(path, f"'{data['name']}' is a line of '{entity['child_of']}' and follows it; "
                                                  f"declare '{key}' on a field of '{entity['child_of']}'"))


def _picklist_field(doc, path, fname, fields, entity_name, problems) -> str | None:
    """The picklist of ``fname`` when it is a picklist field of the entity, else a problem."""
    fdef = fields.get(fname)
    if fdef is None:
        problems.append(doc.problem(path, f"unknown field '{fname}' of entity '{entity_name}'.{did_you_mean(fname, fields)}"))
        return None
    if fdef.get("type") != "picklist":
        problems.append(doc.problem(path, f"'{fname}' is {_a(fdef.get('type'))} field; a picklist field is needed here"))
        return None
    return fdef.get("picklist")


def _options(doc, path, values, picklist, merged: Merged, problems) -> None:
    keys = {o["key"] for o in merged.picklists.get(picklist, {}).get("options", [])}
    for i, key in enumerate(values or []):
        if picklist in merged.picklists and key not in keys:
            problems.append(doc.problem(path + (i,), f"'{key}' is not an option of '{picklist}'.{did_you_mean(str(key), keys)}"))


def assignment(doc: Document, merged: Merged, field_types, problems: list[Problem]) -> None:
    data = doc.data
    name = data["name"]
    add = problems.append
    defining = merged.assignment_docs.get(name) is doc
    merged_doc = merged.assignments.get(name, data)
    if defining and "label" not in data:
        add(doc.problem(("name",), f"assignment '{name}' needs a 'label' with en and zh"))
    if defining and "field" not in data:
        add(doc.problem(("name",), f"assignment '{name}' needs the user 'field' it sets"))
    entity_name = data["entity"]
    entity = merged.entities.get(entity_name)
    if entity is None:
        add(doc.problem(("entity",), f"unknown entity '{entity_name}'.{did_you_mean(entity_name, merged.entities)}"))
        return
    if entity.get("child_of"):
        add(doc.problem(("entity",), f"'{entity_name}' is a line of '{entity['child_of']}'; dispatch the '{entity['child_of']}' instead"))
        return  # its fields are beside the point
    if defining:
        earlier = list(merged.assignments)[:list(merged.assignments).index(name)] if name in merged.assignments else []
        other = next((n for n in earlier if merged.assignments[n].get("entity") == entity_name), None)
        if other is not None:
            add(doc.problem(("entity",), f"entity '{entity_name}' is already dispatched by assignment '{other}' "
                                         f"({merged.assignment_docs[other].file}); add rules to that document instead"))
    fields = entity.get("fields", {})
    known = _fields_of(merged, entity_name)
    if "field" in data:
        fdef = fields.get(data["field"])
        if fdef is None:
            add(doc.problem(("field",), f"unknown field '{data['field']}' of entity '{entity_name}'.{did_you_mean(data['field'], fields)}"))
        elif fdef.get("type") != "user":
            add(doc.problem(("field",), f"'{data['field']}' is {_a(fdef.get('type'))} field; a dispatch sets a user field"))
    for key in ("open", "urgency"):
        if key in data:
            picklist = _picklist_field(doc, (key, "field"), data[key]["field"], fields, entity_name, problems)
            _options(doc, (key, "values" if key == "open" else "order"),
                     data[key].get("values" if key == "open" else "order"), picklist, merged, problems)
    if "since" in data:
        since = data["since"]
        ftype = "datetime" if since in ("created_at", "updated_at") else fields.get(since, {}).get("type")
        if ftype is None:
            add(doc.problem(("since",), f"unknown field '{since}' of entity '{entity_name}'.{did_you_mean(since, known)}"))
        elif ftype not in ("date", "datetime"):
            add(doc.problem(("since",), f"'{since}' is {_a(ftype)} field; the age comes from a date or datetime field"))
    if "set" in data:
        _actions(doc, (), {"set": data["set"]}, entity_name, fields, merged, field_types, problems)
    role = (data.get("notify") or {}).get("role")
    if role is not None and role not in merged.roles:
        add(doc.problem(("notify", "role"), f"unknown role '{role}'.{did_you_mean(role, merged.roles)}"))
    seen: dict[str, int] = {}
    for i, rule in enumerate(data.get("rules", [])):
        path = ("rules", i)
        if rule["name"] in seen:
            add(doc.problem(path + ("name",), f"duplicate rule '{rule['name']}' (also item {seen[rule['name']]})"))
        seen[rule["name"]] = i
        is_new = merged.assignment_rule_docs.get((name, rule["name"])) is doc
        for needed in ("label", "pool"):
            if is_new and needed not in rule:
                add(doc.problem(path, f"rule '{rule['name']}' needs a '{needed}'"))
        if "when" in rule:
            _expression(doc, path + ("when",), rule["when"], known, problems)
        role = (rule.get("pool") or {}).get("role")
        if role is not None and role not in merged.roles:
            add(doc.problem(path + ("pool", "role"), f"unknown role '{role}'.{did_you_mean(role, merged.roles)}"))
        for j, item in enumerate(rule.get("match", [])):
            _picklist_field(doc, path + ("match", j, "field"), item["field"], fields, entity_name, problems)
        merged_rule = next((r for r in merged_doc.get("rules", []) if r["name"] == rule["name"]), rule)
        if merged_rule.get("strategy") == "least_loaded" and not merged_doc.get("open"):
            add(doc.problem(path + ("strategy",), "least_loaded counts each user's open records: declare the 'open' states of the assignment"))
