"""What a column can hold, and what text may carry: the checks every input path shares.

A value is checked against its column *before* it reaches the database (SECURITY.md rule
24): an integer within the column's range (PostgreSQL's INTEGER is 32 bits, and SQLite
follows the same rule so both databases accept the same values), a decimal within its
precision, text within its length and without control characters (rule 25). The limits
come from the SQLAlchemy column type, so a form, a list filter, an import and a URL all
refuse the same values with the same message.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
ID_MAX = INT32_MAX  # every id column (record, user, department, task...) is an INTEGER

# C0 controls, DEL and C1 controls; single-line text allows none of them, multi-line text
# allows tab, line feed and carriage return
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def integer_range(column_type: sa.types.TypeEngine) -> tuple[int, int] | None:
    """The values an integer column holds (None for other types)."""
    if isinstance(column_type, sa.SmallInteger):
        return -(2**15), 2**15 - 1
    if isinstance(column_type, sa.BigInteger):
        return INT64_MIN, INT64_MAX
    if isinstance(column_type, sa.Integer):
        return INT32_MIN, INT32_MAX
    return None


def decimal_range(precision: int, scale: int) -> tuple[Decimal, Decimal]:
    """The values a NUMERIC(precision, scale) column holds: ±(10^(p-s) - 10^-s)."""
    largest = Decimal(10) ** (precision - scale) - Decimal(1).scaleb(-scale)
    return -largest, largest


def column_range(column_type: sa.types.TypeEngine) -> tuple[Any, Any] | None:
    """The smallest and largest value a numeric column holds, or None when unbounded."""
    found = integer_range(column_type)
    if found is not None:
        return found
    precision, scale = getattr(column_type, "precision", None), getattr(column_type, "scale", None)
    if isinstance(column_type, (sa.Numeric, sa.types.TypeDecorator)) and precision is not None and scale is not None:
        return decimal_range(precision, scale)
    return None


def column_length(column_type: sa.types.TypeEngine) -> int | None:
    """The longest text a column holds (None when unlimited)."""
    return getattr(column_type, "length", None) if isinstance(column_type, sa.String) else None


def parse_id(raw: Any) -> int | None:
    """An id typed into a form or a query string: a positive whole number that fits an id
    column, else None (which every caller treats as "no such record")."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw if raw is not None else "").strip()
        if not text.isascii() or not text.isdigit() or len(text) > 10:
            return None
        value = int(text)
    return value if 1 <= value <= ID_MAX else None


def control_character(text: str, multiline: bool = False) -> str | None:
    """The first control character in ``text`` (None when there is none)."""
    found = (_CONTROL_MULTILINE if multiline else _CONTROL).search(text)
    return found.group() if found else None


def describe(char: str) -> str:
    """A control character as people can read it in a message: U+0000 (NULL)."""
    name = unicodedata.name(char, "") or {"\x00": "NULL", "\t": "TAB", "\n": "LINE FEED",
                                         "\r": "CARRIAGE RETURN", "\x1b": "ESCAPE", "\x7f": "DELETE"}.get(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def text_problem(text: Any, lang: str | None, *, max_length: int | None = None, multiline: bool = False) -> str | None:
    """Why ``text`` cannot be stored as text (a bilingual message), or None when it can."""
    from kehu.fields.base import tr

    if not isinstance(text, str):
        return tr(lang, "Enter text.", "请输入文本。")
    char = control_character(text, multiline)
    if char is not None:
        return tr(lang, f"Remove the control character {describe(char)}; it cannot be stored.",
                  f"请删除控制字符 {describe(char)}，它不能被保存。")
    if max_length is not None and len(text) > max_length:
        return tr(lang, f"Enter at most {max_length:,} characters (this has {len(text):,}).",
                  f"最多输入 {max_length:,} 个字符（当前 {len(text):,} 个）。")
    return None
