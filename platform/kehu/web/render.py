"""Turning stored values into what people read, through each field type's ``display``."""

from __future__ import annotations

from flask import url_for
from markupsafe import Markup

from kehu.metadata.model import Field


class DisplayContext:
    """What a field type needs to display a value: language, picklists, lookup labels, URLs."""

    def __init__(self, site, locale: str, labels: dict | None = None, entity: str | None = None):
        self.site = site
        self.locale = locale
        self.labels = labels or {}
        self.entity = entity
        self.record_id = None

    def picklist(self, name: str):
        return self.site.metadata.picklists[name]

    def lookup_label(self, target: str, record_id: int) -> str:
        return self.labels.get((target, record_id), f"#{record_id}")

    def user_name(self, user_id: int) -> str:
        return self.labels.get(("kehu_user", user_id), f"#{user_id}")

    def record_url(self, target: str, record_id: int) -> str | None:
        entity = self.site.metadata.entities.get(target)
        if entity is None or entity.child_of or (target, record_id) not in self.labels:
            return None
        return url_for("records.detail", entity=target, record_id=record_id)

    def attachment_url(self, field: Field, info: dict) -> str:
        return url_for("records.attachment", entity=field.entity, record_id=self.record_id, field=field.name)

    def display(self, field: Field, record: dict) -> str | Markup:
        self.record_id = record.get("id")
        return self.site.field_types[field.type].display(record.get(field.name), field, self)

    def cells(self, fields: list[Field], rows: list[dict]) -> list[tuple[dict, list]]:
        """Display values of a table, computed in one pass (lists render many cells)."""
        types = [(f, self.site.field_types[f.type].display) for f in fields]
        out = []
        for row in rows:
            self.record_id = row.get("id")
            out.append((row, [display(row.get(f.name), f, self) for f, display in types]))
        return out

    def history_value(self, field: Field | None, text: str | None) -> str | Markup:
        """A value as stored in the history (text), shown as people read it."""
        if text is None or field is None:
            return text
        if field.type in ("picklist", "multi_picklist", "boolean", "lookup", "user"):
            value = text
            if field.type in ("lookup", "user"):
                value = int(text) if text.isdigit() else None
            elif field.type == "boolean":
                value = text == "True"
            return self.site.field_types[field.type].display(value, field, self)
        return text
