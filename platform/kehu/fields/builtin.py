"""The built-in field types, registered through the ``register_field_types`` hook."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import nh3
import sqlalchemy as sa
from markupsafe import Markup, escape
from marshmallow import fields as mf, validate

from kehu.db.types import ExactDecimal
from kehu.fields import limits, patterns
from kehu.fields.base import (
    CHOICE_OPS, DATE_OPS, NUMBER_OPS, TEXT_OPS, FieldType, length_validators, range_validators, tr,
)
from kehu.metadata.model import Field

_TEXTUAL = frozenset({"min_length", "max_length", "pattern"})


class Text(FieldType):
    name = "text"
    props = _TEXTUAL
    searchable = True

    def column_type(self, field):
        return sa.String(field.get("max_length", 255))

    def validators(self, field, lang):
        out = length_validators(field, lang, 255)
        if field.get("pattern"):
            out.append(patterns.Matches(field.get("pattern"), tr(lang, "Not in the expected format.", "格式不正确。")))
        return out

    def parse_filter_value(self, raw, field, lang="en"):
        # a filter value is a fragment to look for ("contains", "starts with"), not a whole
        # value: the format checks of e-mail, URL, phone and pattern do not apply to it; a
        # fragment longer than the column can never match, and control characters never
        # reach the database
        text = str(raw).strip()
        problem = limits.text_problem(text, lang, max_length=self.max_length(field) or 1000)
        if problem:
            raise ValueError(problem)
        return text

    def parse_import(self, text, field):
        return FieldType.parse_filter_value(self, text, field)


class Textarea(Text):
    name = "textarea"
    props = frozenset({"min_length", "max_length"})
    widget = "textarea"
    sortable = False

    def column_type(self, field):
        return sa.Text()

    def validators(self, field, lang):
        return length_validators(field, lang, 20000, multiline=True)

    def display(self, value, field, ctx):
        return Markup("<br>").join(escape(value or "").splitlines())


class RichText(Textarea):
    name = "rich_text"
    props = frozenset({"max_length"})
    widget = "rich_text"
    searchable = False
    filter_ops = ("empty", "not_empty")

    def validators(self, field, lang):
        return length_validators(field, lang, 200000, multiline=True)

    def normalize(self, value, field):
        return nh3.clean(value) if value else value

    def display(self, value, field, ctx):
        return Markup(nh3.clean(value or ""))

    def history_display(self, text, field, ctx):
        plain_text = " ".join(nh3.clean(text or "", tags=set()).split())
        return plain_text if len(plain_text) <= 200 else plain_text[:199] + "…"


class Email(Text):
    name = "email"
    props = frozenset({"max_length"})
    widget = "email"

    def input_field(self, field, lang="en"):
        return mf.Email(allow_none=True, validate=self.validators(field, lang),
                        error_messages={"invalid": tr(lang, "Enter a valid e-mail address.", "请输入有效的电子邮箱。")})

    def display(self, value, field, ctx):
        return Markup('<a href="mailto:{0}">{0}</a>').format(value) if value else ""


class Phone(Text):
    name = "phone"
    props = frozenset({"max_length", "pattern"})
    widget = "tel"

    def column_type(self, field):
        return sa.String(field.get("max_length", 40))

    def validators(self, field, lang):
        pattern = field.get("pattern") or r"^\+?[0-9][0-9 ()\-]{2,30}$"
        return length_validators(field, lang, 40) + [
            patterns.Matches(pattern, tr(lang, "Enter a valid phone number.", "请输入有效的电话号码。"))
        ]


class Url(Text):
    name = "url"
    props = frozenset({"max_length"})
    widget = "url"

    def column_type(self, field):
        return sa.String(field.get("max_length", 500))

    def input_field(self, field, lang="en"):
        return mf.URL(allow_none=True, schemes={"http", "https"}, validate=length_validators(field, lang, 500),
                      error_messages={"invalid": tr(lang, "Enter a valid web address (http:// or https://).", "请输入有效的网址（http:// 或 https://）。")})

    def display(self, value, field, ctx):
        return Markup('<a href="{0}" rel="noopener noreferrer nofollow" target="_blank">{0}</a>').format(value) if value else ""


class Integer(FieldType):
    name = "integer"
    props = frozenset({"min", "max"})
    widget = "number"
    filter_ops = NUMBER_OPS
    filterable_by_default = True

    def column_type(self, field):
        return sa.Integer()

    def input_field(self, field, lang="en"):
        return mf.Integer(allow_none=True, strict=False, validate=range_validators(field, lang, self.bounds(field)),
                          error_messages={"invalid": tr(lang, "Enter a whole number.", "请输入整数。")})

    def display(self, value, field, ctx):
        return "" if value is None else f"{value:,}"

    def from_text(self, text, field):
        return int(text)


class DecimalType(FieldType):
    name = "decimal"
    props = frozenset({"min", "max", "scale"})
    widget = "decimal"
    filter_ops = NUMBER_OPS
    filterable_by_default = True
    default_scale = 2

    def scale(self, field):
        return field.get("scale", self.default_scale)

    def column_type(self, field):
        return ExactDecimal(18, self.scale(field))

    def input_field(self, field, lang="en"):
        in_range = range_validators(field, lang, self.bounds(field))
        return _DecimalInput(places=self.scale(field), rounding=ROUND_HALF_UP, allow_none=True,
                             validate=in_range, range_check=in_range[0] if in_range else None,
                             error_messages={"invalid": tr(lang, "Enter a number.", "请输入数字。"),
                                             "special": tr(lang, "Enter a number.", "请输入数字。")})

    def display(self, value, field, ctx):
        return "" if value is None else f"{Decimal(value):,.{self.scale(field)}f}"

    def to_json(self, value):
        return None if value is None else str(value)

    def from_text(self, text, field):
        value = Decimal(text)
        return value if value.is_finite() else None


class _DecimalInput(mf.Decimal):
    """Accepts '1,234.50' and '¥1234.5' as typed by people, not only plain digits. A number
    beyond what the column holds (1e400, 10^20 in NUMERIC(18, 2)) is refused with the
    limit before it is rounded, so it never turns into a different value or an overflow."""

    def __init__(self, *args, range_check=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.range_check = range_check

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = re.sub(r"[,\s¥$￥%]", "", value)
        if self.range_check is not None and isinstance(value, (str, int, float, Decimal)) and not isinstance(value, bool):
            try:
                number = Decimal(str(value)) if not isinstance(value, float) else Decimal(repr(value))
            except (InvalidOperation, ValueError):
                number = None
            if number is not None and number.is_finite():
                self.range_check(number)
        return super()._deserialize(value, attr, data, **kwargs)


class Currency(DecimalType):
    name = "currency"
    props = frozenset({"min", "max"})
    widget = "currency"

    def scale(self, field):
        return 2

    def display(self, value, field, ctx):
        return "" if value is None else f"¥{Decimal(value):,.2f}"


class Percent(DecimalType):
    name = "percent"
    props = frozenset({"min", "max"})
    widget = "percent"

    def display(self, value, field, ctx):
        return "" if value is None else f"{Decimal(value).normalize():f}%"


class Boolean(FieldType):
    name = "boolean"
    widget = "checkbox"
    filter_ops = ("eq",)
    filterable_by_default = True

    def column_type(self, field):
        return sa.Boolean()

    def input_field(self, field, lang="en"):
        return mf.Boolean(allow_none=True, truthy={"on", "true", "1", "yes", True, 1}, falsy={"off", "false", "0", "no", "", False, 0},
                          error_messages={"invalid": tr(lang, "Choose yes or no.", "请选择是或否。")})

    def display(self, value, field, ctx):
        if value is None:
            return ""
        return tr(ctx.locale, "Yes", "是") if value else tr(ctx.locale, "No", "否")

    def from_text(self, text, field):
        return {"true": True, "1": True, "false": False, "0": False}.get(text.strip().lower())


class Date(FieldType):
    name = "date"
    props = frozenset({"stamp_when"})
    widget = "date"
    filter_ops = DATE_OPS
    filterable_by_default = True

    def column_type(self, field):
        return sa.Date()

    def input_field(self, field, lang="en"):
        return mf.Date(allow_none=True, error_messages={"invalid": tr(lang, "Enter a date as YYYY-MM-DD.", "请输入日期，格式为 YYYY-MM-DD。")})

    special_default = "today"

    def parse_default(self, raw, field, lang="en"):
        return dt.date.today() if raw == self.special_default else super().parse_default(raw, field, lang)

    def display(self, value, field, ctx):
        return "" if value is None else value.isoformat()

    def to_json(self, value):
        return None if value is None else value.isoformat()

    def from_text(self, text, field):
        return dt.date.fromisoformat(text[:10])


class DateTime(Date):
    name = "datetime"
    widget = "datetime"

    def column_type(self, field):
        return sa.DateTime()

    def input_field(self, field, lang="en"):
        return _LocalDateTime(allow_none=True, error_messages={"invalid": tr(lang, "Enter a date and time.", "请输入日期和时间。")})

    special_default = "now"

    def parse_default(self, raw, field, lang="en"):
        if raw == self.special_default:
            return dt.datetime.now().replace(second=0, microsecond=0)
        return super().parse_default(raw, field, lang)

    def display(self, value, field, ctx):
        return "" if value is None else value.strftime("%Y-%m-%d %H:%M")

    def from_text(self, text, field):
        return dt.datetime.fromisoformat(text)

    def filter_clause(self, column, op, values):
        # a date typed into a datetime filter covers the whole day
        if op == "lte" and values and values[0].time() == dt.time(0):
            return column < values[0] + dt.timedelta(days=1)
        if op == "eq" and values and values[0].time() == dt.time(0):
            return sa.and_(column >= values[0], column < values[0] + dt.timedelta(days=1))
        return super().filter_clause(column, op, values)


class _LocalDateTime(mf.DateTime):
    """Accepts what <input type=datetime-local> sends and a bare date; stores naive local time."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            value = value.strip() + "T00:00"
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.replace(tzinfo=None, microsecond=0)


class Picklist(FieldType):
    name = "picklist"
    props = frozenset({"picklist", "depends_on", "forward_only"})
    requires = frozenset({"picklist"})
    widget = "select"
    filter_ops = CHOICE_OPS
    filterable_by_default = True

    def column_type(self, field):
        return sa.String(64)

    def display(self, value, field, ctx):
        if value is None:
            return ""
        option = ctx.picklist(field.picklist).option(value)
        return option.label.get(ctx.locale) if option else str(value)


class MultiPicklist(Picklist):
    name = "multi_picklist"
    props = frozenset({"picklist"})
    widget = "multiselect"
    filter_ops = ("has", "empty", "not_empty")
    sortable = False

    def column_type(self, field):
        return sa.Text()

    def input_field(self, field, lang="en"):
        return _KeyList(allow_none=True, error_messages={"invalid": tr(lang, "Choose from the list.", "请从列表中选择。")})

    def normalize(self, value, field):
        return json.dumps(sorted(set(value)), ensure_ascii=False) if value else None

    def decode(self, value):
        return json.loads(value) if value else []

    def display(self, value, field, ctx):
        picklist = ctx.picklist(field.picklist)
        labels = []
        for key in self.decode(value):
            option = picklist.option(key)
            labels.append(option.label.get(ctx.locale) if option else key)
        return "、".join(labels) if ctx.locale.startswith("zh") else ", ".join(labels)

    def to_json(self, value):
        return self.decode(value)

    def parse_filter_value(self, raw, field, lang="en"):
        if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]{0,63}", raw or ""):
            raise ValueError(tr(lang, "Choose from the list.", "请从列表中选择。"))
        return raw

    def filter_clause(self, column, op, values):
        if op == "has":
            return sa.or_(*[column.contains(json.dumps(v), autoescape=True) for v in values])
        return super().filter_clause(column, op, values)


class _KeyList(mf.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise self.make_error("invalid")
        return list(value)


class Lookup(FieldType):
    name = "lookup"
    props = frozenset({"entity", "fill", "new_action"})
    requires = frozenset({"entity"})
    widget = "lookup"
    filter_ops = ("eq", "empty", "not_empty")
    filterable_by_default = True
    sortable = False

    def column_type(self, field):
        return sa.Integer()

    def input_field(self, field, lang="en"):
        # an id: a positive whole number that fits an id column (anything else names no record)
        choose = tr(lang, "Choose a record from the list.", "请从列表中选择记录。")
        return mf.Integer(allow_none=True, strict=False, validate=validate.Range(min=1, max=limits.ID_MAX, error=choose),
                          error_messages={"invalid": choose})

    def from_text(self, text, field):
        return int(text)

    def display(self, value, field, ctx):
        if value is None:
            return ""
        label = ctx.lookup_label(field.target, value)
        url = ctx.record_url(field.target, value)
        return Markup('<a href="{}">{}</a>').format(url, label) if url else label


class User(Lookup):
    name = "user"
    props = frozenset()
    requires = frozenset()
    widget = "user"

    def display(self, value, field, ctx):
        return "" if value is None else ctx.user_name(value)


class ChildTable(FieldType):
    name = "child_table"
    props = frozenset({"entity", "link_field"})
    requires = frozenset({"entity", "link_field"})
    widget = "child_table"
    filter_ops = ()
    stored = False
    sortable = False

    # the history keeps a save's line changes as counts: "+added ~changed -removed"
    SUMMARY = re.compile(r"^\+(\d+) ~(\d+) -(\d+)$")

    @staticmethod
    def summary(added: int, changed: int, removed: int) -> str:
        return f"+{added} ~{changed} -{removed}"

    def history_display(self, text, field, ctx):
        match = self.SUMMARY.match(text or "")
        if not match:
            return text
        parts = []
        for n, en, zh in zip(map(int, match.groups()), ("added", "changed", "removed"), ("新增", "修改", "删除")):
            if n:
                parts.append(tr(ctx.locale, f"{n} {en}", f"{zh} {n} 行"))
        return ("，" if ctx.locale.startswith("zh") else ", ").join(parts)


class Autonumber(FieldType):
    name = "autonumber"
    props = frozenset({"format"})
    requires = frozenset({"format"})
    widget = "readonly"
    searchable = True
    computed = True

    def column_type(self, field):
        return sa.String(64)


class Formula(FieldType):
    name = "formula"
    props = frozenset({"expression", "result_type", "scale"})
    requires = frozenset({"expression"})
    widget = "readonly"
    filter_ops = NUMBER_OPS
    filterable_by_default = True
    computed = True
    _result_types = {"decimal": DecimalType(), "integer": Integer(), "text": Text(), "date": Date(), "boolean": Boolean()}

    def result(self, field) -> FieldType:
        return self._result_types[field.get("result_type", "decimal")]

    def column_type(self, field):
        result = self.result(field)
        return sa.String(255) if isinstance(result, Text) else result.column_type(field)

    def input_field(self, field, lang="en"):
        return self.result(field).input_field(field, lang)

    def coerce(self, value, field):
        """Bring an expression result to the stored type (None when it cannot)."""
        if value is None:
            return None
        kind = field.get("result_type", "decimal")
        try:
            if kind == "decimal":
                number = Decimal(str(value))
                try:
                    return number.quantize(Decimal(1).scaleb(-field.get("scale", 2)), rounding=ROUND_HALF_UP)
                except InvalidOperation:  # too many digits to round: kept, so the save says it is too large
                    return number if number.is_finite() else None
            if kind == "integer":
                return int(value)
            if kind == "text":
                return str(value)[:255]
            if kind == "boolean":
                return bool(value)
            if kind == "date":
                return value if isinstance(value, dt.date) else None
        except (InvalidOperation, ValueError, TypeError):
            return None
        return None

    def display(self, value, field, ctx):
        return self.result(field).display(value, field, ctx)

    def from_text(self, text, field):
        return self.result(field).from_text(text, field)

    def to_json(self, value):
        return str(value) if isinstance(value, Decimal) else (value.isoformat() if isinstance(value, dt.date) else value)


class Attachment(FieldType):
    name = "attachment"
    props = frozenset({"max_size_mb", "extensions"})
    widget = "file"
    filter_ops = ("empty", "not_empty")
    sortable = False
    default_extensions = ("pdf", "png", "jpg", "jpeg", "gif", "txt", "csv", "xlsx", "xls", "docx", "doc", "pptx", "zip")

    def column_type(self, field):
        return sa.Text()

    def input_field(self, field, lang="en"):
        return mf.Raw(allow_none=True)

    def decode(self, value) -> dict | None:
        return json.loads(value) if value else None

    def display(self, value, field, ctx):
        info = self.decode(value)
        if not info:
            return ""
        return Markup('<a href="{}" download>{}</a> <small>({:,} KB)</small>').format(
            ctx.attachment_url(field, info), info["name"], max(1, info["size"] // 1024))

    def to_json(self, value):
        info = self.decode(value)
        return {k: info[k] for k in ("name", "size", "type")} if info else None

    def history_display(self, text, field, ctx):
        # the file's name only: an earlier file is no longer stored under this record
        try:
            info = self.decode(text)
        except ValueError:
            return text
        return str(info.get("name") or "") if isinstance(info, dict) else text


BUILTIN_TYPES: tuple[type[FieldType], ...] = (
    Text, Textarea, RichText, Integer, DecimalType, Currency, Percent, Boolean, Date, DateTime,
    Email, Phone, Url, Picklist, MultiPicklist, Lookup, User, ChildTable, Autonumber, Formula, Attachment,
)
