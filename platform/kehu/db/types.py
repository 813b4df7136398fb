"""Exact decimals on every database.

SQLite has no decimal type: SQLAlchemy's ``Numeric`` is stored as REAL there, so
1234567890123456.78 came back as 1234567890123456.8. :class:`ExactDecimal` keeps money
exact on both databases:

- PostgreSQL: ``NUMERIC(precision, scale)``, as before.
- SQLite: the value times 10^scale as a whole number, in a column declared
  ``SCALED_INTEGER(precision, scale)`` (INTEGER affinity: exact up to 2^63, which covers
  every NUMERIC(18, s) value). Whole numbers sort and compare correctly in SQL, and a value
  bound in a filter goes through the same conversion, so ``amount >= 1000`` works unchanged.

The declared type names its scale, so schema sync can tell a converted column from an old
NUMERIC (REAL) one and convert each exactly once (see :mod:`kehu.db.sync`). Engines
register the name for reflection (:func:`register_reflection`), so a table copied by a
batch migration keeps the declared type of its other columns.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa

DEFAULT_PRECISION = 18
SCALED_NAME = "SCALED_INTEGER"


class ScaledInteger(sa.types.UserDefinedType):
    """SQLite's storage of an exact decimal: a whole number of 10^-scale units."""

    cache_ok = True

    def __init__(self, precision: int = DEFAULT_PRECISION, scale: int = 0):
        self.precision = precision
        self.scale = scale

    def get_col_spec(self, **kw) -> str:
        return f"{SCALED_NAME}({self.precision}, {self.scale})"

    @property
    def python_type(self):
        return int


class ExactDecimal(sa.types.TypeDecorator):
    """A decimal with ``precision`` digits, ``scale`` of them after the point, exact on
    PostgreSQL and SQLite. Values come back as :class:`decimal.Decimal` with ``scale``
    places on both."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int = DEFAULT_PRECISION, scale: int = 2):
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(ScaledInteger(self.precision, self.scale))
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    @property
    def python_type(self):
        return Decimal

    def _decimal(self, value) -> Decimal:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, float):
            number = Decimal(repr(value))
        else:
            number = Decimal(str(value))
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        try:
            number = number.quantize(Decimal(1).scaleb(-self.scale), rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise ValueError(f"{value!r} does not fit NUMERIC({self.precision}, {self.scale})") from None
        if number.adjusted() >= self.precision - self.scale:
            raise ValueError(f"{value!r} does not fit NUMERIC({self.precision}, {self.scale})")
        return number

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        number = self._decimal(value)
        if dialect.name == "sqlite":
            return int(number.scaleb(self.scale))
        return number

    def process_literal_param(self, value, dialect):
        return self.process_bind_param(value, dialect)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return to_decimal(value, self.scale)
        return value if isinstance(value, Decimal) else Decimal(str(value))


def to_decimal(stored, scale: int) -> Decimal:
    """A SQLite scaled integer back as a decimal with ``scale`` places."""
    if isinstance(stored, float):  # never written by Kehu; an outside tool's value, read as meant
        stored = Decimal(repr(stored)).to_integral_value(rounding=ROUND_HALF_UP)
    return Decimal(int(stored)).scaleb(-scale)


def scaled(value, scale: int) -> int:
    """``value`` (as an old NUMERIC/REAL column or an integer column held it) as a scaled
    whole number: the conversion schema sync applies once per column."""
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    return int(number.scaleb(scale).to_integral_value(rounding=ROUND_HALF_UP))


def register_reflection(dialect) -> None:
    """Let this dialect reflect ``SCALED_INTEGER(p, s)`` columns as :class:`ScaledInteger`
    (per engine; SQLAlchemy's own tables stay untouched)."""
    if dialect.name == "sqlite" and SCALED_NAME not in dialect.ischema_names:
        dialect.ischema_names = {**dialect.ischema_names, SCALED_NAME: ScaledInteger}
