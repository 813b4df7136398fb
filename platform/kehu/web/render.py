"""Turning stored values into what people read, through each field type's ``display``."""

from __future__ import annotations

from flask import url_for
from markupsafe import Markup

from kehu.metadata.model import Field
from kehu.records.labels import Unreadable


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
        """The page of a lookup's target; None when it has none, or the viewer cannot open it."""
        entity = self.site.metadata.entities.get(target)
        label = self.labels.get((target, record_id))
        if entity is None or entity.child_of or label is None or isinstance(label, Unreadable):
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
        """A value as stored in the history (text), shown as people read it: through the
        field type, so a date, an amount, an option, a person or a file reads as it does on
        the record's page."""
        if text is None or field is None:
            return text
        return self.site.field_types[field.type].history_display(text, field, self)
