"""The contract every field type fulfils."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from markupsafe import Markup, escape
from marshmallow import ValidationError, fields as mf, validate

from kehu.fields import limits
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

    def bounds(self, field: Field) -> tuple[Any, Any] | None:
        """The smallest and largest value the field's column holds (None: not a number)."""
        return limits.column_range(self.column_type(field)) if self.stored else None

    def max_length(self, field: Field) -> int | None:
        """The longest text the field's column holds (None: unlimited or not text)."""
        return limits.column_length(self.column_type(field)) if self.stored else None

    def stored_problem(self, value: Any, field: Field, lang: str = "en") -> str | None:
        """Why a typed value (typed input, a default, a formula's result, a workflow's
        value) cannot be stored in the field's column, or None. The last check before the
        database, so an out-of-range value is a message, never a database error."""
        if value is None or not self.stored:
            return None
        bounds = self.bounds(field)
        if bounds is not None and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            if isinstance(value, Decimal) and not value.is_finite():
                return tr(lang, "Enter a number.", "请输入数字。")
            try:
                InRange(*bounds, lang)(value)
            except ValidationError as exc:
                return exc.messages[0]
        if isinstance(value, str):
            return limits.text_problem(value, lang, max_length=self.max_length(field), multiline=True)
        return None

    def normalize(self, value: Any, field: Field) -> Any:
        """Last step before storing (e.g. sanitizing HTML); runs after input_field."""
        return value

    def default(self, field: Field) -> Any:
        """The initial value of a new record: the metadata's ``default`` read as typed input
        is (``'010'`` stays text in a text field and is 10 in an integer field)."""
        raw = field.get("default")
        if raw is None:
            return None
        try:
            return self.parse_default(raw, field)
        except ValueError:  # refused when the metadata loads (default_problem); never stored
            return None

    def parse_default(self, raw: Any, field: Field, lang: str = "en") -> Any:
        """The typed value of a default; raise ValueError with the reason when it is not one."""
        try:
            value = self.input_field(field, lang).deserialize(raw)
        except ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, list) else [str(exc.messages)]
            raise ValueError(" ".join(str(m) for m in messages)) from None
        return self.normalize(value, field)

    def default_problem(self, field: Field, lang: str = "en") -> str | None:
        """Why the field's ``default`` is not a value of the field (checked at load), or None."""
        try:
            value = self.parse_default(field.get("default"), field, lang)
        except ValueError as exc:
            return str(exc)
        return self.stored_problem(value, field, lang)

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
            value = self.input_field(field, lang).deserialize(raw)
        except ValidationError as exc:
            raise ValueError(" ".join(exc.messages) if isinstance(exc.messages, list) else str(exc.messages)) from None
        # whatever the type (a picklist key, a code), text compared in SQL fits its column
        problem = limits.text_problem(value, lang, max_length=self.max_length(field)) if isinstance(value, str) else None
        if problem:
            raise ValueError(problem)
        return value

    def parse_import(self, text: str, field: Field) -> Any:
        """Parse a cell of an imported file (same rules as form input)."""
        return self.parse_filter_value(text, field)


def tr(lang: str | None, en: str, zh: str) -> str:
    """Pick the English or Chinese text of an engine message."""
    return zh if (lang or "").startswith("zh") else en


def length_validators(field: Field, lang: str, default_max: int | None = None, multiline: bool = False) -> list:
    """Length limits (the field's, else the column's) and no control characters: single-line
    text refuses all of them, multi-line text allows tab, line feed and carriage return."""
    out: list = [TextChars(lang, multiline)]
    lo, hi = field.get("min_length"), field.get("max_length", default_max)
    if lo is not None:
        out.append(validate.Length(min=lo, error=tr(lang, "Enter at least {min} characters.", "至少输入 {min} 个字符。")))
    if hi is not None:
        out.append(validate.Length(max=hi, error=tr(lang, "Enter at most {max} characters.", "最多输入 {max} 个字符。")))
    return out


class TextChars(validate.Validator):
    """Refuses control characters (NUL, escape...), which no text column should keep and
    PostgreSQL cannot store at all."""

    def __init__(self, lang: str, multiline: bool = False):
        self.lang = lang
        self.multiline = multiline

    def __call__(self, value):
        problem = limits.text_problem(value, self.lang, multiline=self.multiline) if isinstance(value, str) else None
        if problem:
            raise ValidationError(problem)
        return value


def _number(value) -> str:
    return f"{value:,}"


class InRange(validate.Validator):
    """``low <= value <= high`` with the bound in the message, formatted for people."""

    def __init__(self, low, high, lang: str):
        self.low, self.high, self.lang = low, high, lang

    def __call__(self, value):
        if value is None:
            return value
        if self.low is not None and value < self.low:
            raise ValidationError(tr(self.lang, f"Must be at least {_number(self.low)}.", f"不能小于 {_number(self.low)}。"))
        if self.high is not None and value > self.high:
            raise ValidationError(tr(self.lang, f"Must be at most {_number(self.high)}.", f"不能大于 {_number(self.high)}。"))
        return value


def range_validators(field: Field, lang: str, bounds: tuple | None = None) -> list:
    """The field's ``min``/``max`` narrowed to what its column holds (``bounds``)."""
    low, high = field.get("min"), field.get("max")
    if bounds is not None:
        low = bounds[0] if low is None else max(low, bounds[0])
        high = bounds[1] if high is None else min(high, bounds[1])
    return [InRange(low, high, lang)] if low is not None or high is not None else []


def plain(value: Any) -> Markup:
    return escape("" if value is None else value)
