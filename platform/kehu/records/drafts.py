"""Unsaved records for a new form: the defaults, values named in the URL, and what the
lookups' ``fill`` copies from the records they point at.

``/app/contact/new?customer=123`` opens a contact with its customer filled in: each URL
parameter that names a field the user may set is parsed by the field's type, and a value
that does not parse, is not an option, or points at a record the user cannot read is left
out (no error: a link is not a form). When a prefilled lookup declares ``fill``, the new
record takes those fields from the record it points at, read through the record service (so
fields hidden from the user never leak); a child table copies the lines' columns that both
line entities have. So ``/app/sales_order/new?quote=7`` opens an order with the quote's
customer, contact, subject and lines. Nothing is saved until the user saves the form.

The same :meth:`Drafts.fill` answers the form's request when a record is picked in a lookup
(``/app/<entity>/-/fill/<field>``): there only plain fields are filled, not child tables.
"""

from __future__ import annotations

from typing import Any, Mapping

from marshmallow import ValidationError

from kehu.errors import NotFound
from kehu.metadata.model import Entity, Field

NOT_PREFILLED = ("child_table", "attachment", "rich_text")


class Drafts:
    def __init__(self, service):
        self.svc = service
        self.meta = service.meta

    def new(self, entity_name: str, params: Mapping | None = None) -> tuple[dict, dict]:
        """(the values of a new record's form, the fields taken from ``params``)."""
        svc = self.svc
        entity = svc.entity(entity_name)
        record = svc.new_record(entity.name)
        defaults = {name for name, value in record.items() if value not in (None, "", [])}
        given = self.from_params(entity.name, params or {})
        record.update(given)
        for name, value in given.items():
            fld = entity.field(name)
            if fld.type == "lookup" and fld.get("fill"):
                for target, filled in self.fill(entity.name, name, value, lines=True).items():
                    # what the user named wins; a default or an empty field takes the copy
                    if target not in given and (record.get(target) in (None, "", []) or target in defaults):
                        record[target] = filled
        svc.site.pm.hook.prepare_new_record(service=svc, entity=entity, record=record)
        self._compute(entity, record)
        return record, given

    def from_params(self, entity_name: str, params: Mapping) -> dict[str, Any]:
        """The values of ``params`` that name settable fields, parsed; the rest ignored."""
        svc = self.svc
        entity = svc.entity(entity_name)
        out: dict[str, Any] = {}
        for name in list(params.keys())[:50]:
            fld = entity.fields.get(name)
            if fld is None or not self._settable(entity, fld):
                continue
            raw = params.get(name)
            if not isinstance(raw, str) or not raw.strip() or len(raw) > 2000:
                continue
            value = self._parse(fld, raw.strip())
            if value is not None:
                out[name] = value
        return out

    def fill(self, entity_name: str, field_name: str, picked_id, lines: bool = False) -> dict[str, Any]:
        """What picking ``picked_id`` in the lookup ``field_name`` fills: ``{field: value}``
        for the fields its ``fill`` names that the user may set, from the picked record as
        the user can read it (hidden fields are absent). ``field_name`` may name a column of
        a child table (``lines.product``). Child tables are copied only with ``lines``."""
        svc = self.svc
        entity, fld = self._lookup(entity_name, field_name)
        if fld is None or fld.type != "lookup" or not fld.get("fill"):
            return {}
        try:
            picked_id = int(picked_id)
            if not 0 < picked_id < 2**31:
                return {}
            picked = svc.get(fld.target, picked_id)
        except (NotFound, TypeError, ValueError):
            return {}
        out: dict[str, Any] = {}
        for target, source in fld.get("fill").items():
            tfld = entity.fields.get(target)
            if tfld is None or source not in picked or not self._settable(entity, tfld, lines=lines):
                continue
            value = picked.get(source)
            if tfld.type == "child_table":
                copied = self._copy_lines(tfld, self.meta.entity(fld.target).fields.get(source), value)
                if copied:
                    out[target] = copied
            elif value not in (None, "") and self._may_point_at(tfld, value):
                out[target] = value
        return out

    # ------------------------------------------------------------ helpers
    def _lookup(self, entity_name: str, field_name: str) -> tuple[Entity | None, Field | None]:
        entity = self.meta.entities.get(entity_name)
        if entity is None:
            return None, None
        if field_name in entity.fields:
            return entity, entity.fields[field_name]
        child, _, column = field_name.partition(".")
        cfld = entity.fields.get(child)
        if cfld is None or cfld.type != "child_table":
            return None, None
        centity = self.meta.entity(cfld.target)
        return centity, centity.fields.get(column)

    def _settable(self, entity: Entity, fld: Field, lines: bool = False) -> bool:
        ftype = self.svc.types[fld.type]
        if fld.system or ftype.computed or fld.get("read_only") or (fld.type in NOT_PREFILLED and not (
                lines and fld.type == "child_table")):
            return False
        return self.svc.policy.can_edit_field(entity, fld.name)

    def _parse(self, fld: Field, raw: str):
        svc = self.svc
        ftype = svc.types[fld.type]
        try:
            value = ftype.normalize(ftype.input_field(fld, svc.lang).deserialize(raw), fld)
        except (ValidationError, ValueError, TypeError):
            return None
        if value is None:
            return None
        if fld.type == "picklist":
            option = self.meta.picklists[fld.picklist].option(value)
            return value if option is not None and not option.retired else None
        if fld.type == "multi_picklist":
            picklist = self.meta.picklists[fld.picklist]
            keys = svc.types[fld.type].decode(value)
            return value if all(picklist.option(k) and not picklist.option(k).retired for k in keys) else None
        return value if self._may_point_at(fld, value) else None

    def _may_point_at(self, fld: Field, value) -> bool:
        """A lookup value the user can read (a user value: an active user)."""
        if fld.type not in ("lookup", "user"):
            return True
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**31:
            return False  # ids are 32-bit integer columns
        with self.svc.site.reading() as conn:
            return self.svc._target_exists(fld, value, conn)

    def _copy_lines(self, target: Field, source: Field | None, lines) -> list[dict]:
        """New lines of ``target`` from the source's lines: the columns both line entities
        have (not their link to the parent, not computed ones), as the user can read them."""
        if source is None or source.type != "child_table" or not isinstance(lines, list):
            return []
        svc = self.svc
        tentity = self.meta.entity(target.target)
        sentity = self.meta.entity(source.target)
        columns = [f for f in tentity.user_fields()
                   if f.name != target.get("link_field") and f.name in sentity.fields
                   and f.name != source.get("link_field") and self._settable(tentity, f)]
        out = []
        for line in lines:
            new = svc.new_record(tentity.name)
            for fld in columns:
                if fld.name in line:
                    new[fld.name] = line[fld.name]
            svc._formulas(tentity, new)
            out.append(new)
        return out

    def _compute(self, entity: Entity, record: dict) -> None:
        for child in entity.child_tables():
            centity = self.meta.entity(child.target)
            for line in record.get(child.name) or []:
                self.svc._formulas(centity, line)
        self.svc._formulas(entity, record)

