"""URL converters shared by every blueprint.

``<int:...>`` is replaced app-wide by :class:`IdConverter`: every number in a Kehu URL is an
id (a record, a user, a task...), so it is a positive whole number that fits an INTEGER
column. A longer or larger number matches no route and answers the same 404 as an id that
does not exist, instead of reaching the database (SQLite raised OverflowError, PostgreSQL
"integer out of range": both were 500s).
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

from kehu.fields import limits


class IdConverter(IntegerConverter):
    regex = r"[0-9]{1,10}"  # ASCII digits only, never more than an INTEGER holds

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002  (werkzeug's names)
        super().__init__(map, fixed_digits=fixed_digits, min=min,
                         max=limits.ID_MAX if max is None else max, signed=signed)


def install(app) -> None:
    """Use the bounded converter for ``<int:...>`` (call before any blueprint is registered)."""
    app.url_map.converters["int"] = IdConverter
