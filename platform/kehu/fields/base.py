"""The contract every field type fulfils."""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from markupsafe import Markup, escape
from marshmallow import fields as mf, validate

from kehu.metadata.model import Field

TEXT_OPS = ("contains", "eq", "starts", "empty", "not_empty")
NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "empty", "not_empty")
DATE_OPS = ("eq", "gte", "lte", "empty", "not_empty")
CHOICE_OPS = ("eq", "ne", "empty", "not_empty")

OP_LABELS = {
    "contains": {"en": "contains", "zh": "包含"},
    "eq": {"en": "is", "zh": "等于"},
    "ne": {"en": "is not", "zh": "不等于"},
    "starts": {"en": "starts with", "zh": "开头是"},
    "gt": {"en": ">", "zh": ">"},
    "gte": {"en": "≥ / from", "zh": "≥ / 从"},
    "lt": {"en": "<", "zh": "<"},
    "lte": {"en": "≤ / to", "zh": "≤ / 至"},
    "empty": {"en": "is empty", "zh": "为空"},
    "not_empty": {"en": "is not empty", "zh": "不为空"},
    "has": {"en": "includes", "zh": "包含"},
}


class FieldType:
    """One field type. Subclasses set the class attributes and override what differs."""

    name: ClassVar[str]
    props: ClassVar[frozenset[str]] = frozenset()
    requires: ClassVar[frozenset[str]] = frozenset()
    widget: ClassVar[str] = "text"
    filter_ops: ClassVar[tuple[str, ...]] = TEXT_OPS
    filterable_by_default: ClassVar[bool] = False
    searchable: ClassVar[bool] = False
    sortable: ClassVar[bool] = True
    stored: ClassVar[bool] = True
    computed: ClassVar[bool] = False  # set by the engine, not by input

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        raise NotImplementedError

    def input_field(self, field: Field, lang: str = "en") -> mf.Field:
        """The marshmallow field that turns submitted input into a stored value."""
        return mf.String(allow_none=True, validate=self.validators(field, lang),
                         error_messages={"invalid": tr(lang, "Enter text.", "请输入文本。")})

    def validators(self, field: Field, lang: str) -> list:
        return []

    def normalize(self, value: Any, field: Field) -> Any:
        """Last step before storing (e.g. sanitizing HTML); runs after input_field."""
        return value

    def default(self, field: Field) -> Any:
        return field.get("default")

    def display(self, value: Any, field: Field, ctx) -> str | Markup:
        """Human-readable value; ``ctx`` offers locale, picklists and lookup labels."""
        return "" if value is None else str(value)

    def to_json(self, value: Any) -> Any:
        return value

    def from_text(self, text: str, field: Field) -> Any:
        """A value as the field history stores it (text) back as a value of this type."""
        return text

    def history_display(self, text: str, field: Field, ctx) -> str | Markup:
        """A value from the field history as people read it; the stored text when it cannot
        be read back (a value written by an older version)."""
        try:
            value = self.from_text(text, field)
        except (ValueError, TypeError, ArithmeticError):
            return text
        return text if value is None else self.display(value, field, ctx)

    def filter_clause(self, column: sa.ColumnElement, op: str, values: list[Any]):
        """An SQL condition for ``op`` with already-parsed ``values`` (bound parameters)."""
        if op == "empty":
            return column.is_(None)
        if op == "not_empty":
            return column.is_not(None)
        value = values[0]
        if op == "eq":
            return column.in_(values) if len(values) > 1 else column == value
        if op == "ne":  # like "eq", several values are one condition: none of them
            return column.not_in(values) if len(values) > 1 else column != value
        if op == "gt":
            return column > value
        if op == "gte":
            return column >= value
        if op == "lt":
            return column < value
        if op == "lte":
            return column <= value
        # case-insensitive on every database (PostgreSQL's LIKE is case-sensitive, SQLite's is not)
        if op == "contains":
            return column.icontains(value, autoescape=True)
        if op == "starts":
            return column.istartswith(value, autoescape=True)
        raise ValueError(op)

    def parse_filter_value(self, raw: str, field: Field, lang: str = "en") -> Any:
        """Parse one filter value from a query string; raise ValueError when it is not valid."""
        from marshmallow import ValidationError

        try:
            return self.input_field(field, lang).deserialize(raw)
        except ValidationError as exc:
            raise ValueError(" ".join(exc.messages) if isinstance(exc.messages, list) else str(exc.messages)) from None

    def parse_import(self, text: str, field: Field) -> Any:
        """Parse a cell of an imported file (same rules as form input)."""
        return self.parse_filter_value(text, field)


def tr(lang: str | None, en: str, zh: str) -> str:
    """Pick the English or Chinese text of an engine message."""
    return zh if (lang or "").startswith("zh") else en


def length_validators(field: Field, lang: str, default_max: int | None = None) -> list:
    out = []
    lo, hi = field.get("min_length"), field.get("max_length", default_max)
    if lo is not None:
        out.append(validate.Length(min=lo, error=tr(lang, "Enter at least {min} characters.", "至少输入 {min} 个字符。")))
    if hi is not None:
        out.append(validate.Length(max=hi, error=tr(lang, "Enter at most {max} characters.", "最多输入 {max} 个字符。")))
    return out


def range_validators(field: Field, lang: str) -> list:
    out = []
    if field.get("min") is not None:
        out.append(validate.Range(min=field.get("min"), error=tr(lang, "Must be at least {min}.", "不能小于 {min}。")))
    if field.get("max") is not None:
        out.append(validate.Range(max=field.get("max"), error=tr(lang, "Must be at most {max}.", "不能大于 {max}。")))
    return out


def plain(value: Any) -> Markup:
    return escape("" if value is None else value)
