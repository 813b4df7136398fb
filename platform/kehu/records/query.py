"""List queries arrive as request parameters and are parsed against metadata into a structure.

Parameters: ``q`` (search text), ``sort`` (``field`` or ``-field``), ``page``, ``per_page``
and filters ``f.<field>.<op>=<value>`` (repeat a parameter for several values). Field names
must exist and be filterable or sortable, operators come from the field type's allow-list,
and values are parsed by the field type. Nothing from the request reaches SQL as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from kehu.fields import limits
from kehu.fields.base import tr
from kehu.metadata.model import Entity, Layout

MAX_PER_PAGE = 200
MAX_FILTERS = 20
MAX_SEARCH = 200


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    values: tuple[Any, ...]
    raw: tuple[str, ...]


@dataclass
class ListQuery:
    filters: list[Filter] = field(default_factory=list)
    sort: tuple[str, bool] | None = None  # (field, descending)
    q: str = ""
    page: int = 1
    per_page: int = 50
    errors: list[str] = field(default_factory=list)
    deleted: bool = False

    def params(self) -> list[tuple[str, str]]:
        """The query as URL parameters (the inverse of :func:`parse`)."""
        out: list[tuple[str, str]] = []
        if self.q:
            out.append(("q", self.q))
        for f in self.filters:
            out.extend((f"f.{f.field}.{f.op}", raw) for raw in f.raw)
        if self.sort:
            out.append(("sort", ("-" if self.sort[1] else "") + self.sort[0]))
        if self.deleted:
            out.append(("deleted", "1"))
        return out


def parse(entity: Entity, layout: Layout, args: Mapping, field_types, lang: str = "en",
          hidden: frozenset[str] = frozenset()) -> ListQuery:
    """Parse request args (a werkzeug MultiDict or a dict of lists). Fields in ``hidden``
    (those the user cannot see) can be neither filtered nor sorted on."""
    getlist = args.getlist if hasattr(args, "getlist") else (lambda k: args.get(k, []))
    get = (lambda k: (getlist(k) or [None])[0])
    query = ListQuery(per_page=layout.page_size)
    q = (get("q") or "").strip()
    problem = limits.text_problem(q, lang, max_length=MAX_SEARCH)
    if problem:  # searched for as typed or not at all: never a shortened or altered text
        query.errors.append(tr(lang, f"Search: {problem}", f"搜索：{problem}"))
    else:
        query.q = q
    query.deleted = get("deleted") == "1"
    try:
        query.page = max(1, min(int(get("page") or 1), 100000))
    except ValueError:
        query.errors.append(tr(lang, "Page must be a number.", "页码必须是数字。"))
    try:
        query.per_page = max(1, min(int(get("per_page") or layout.page_size), MAX_PER_PAGE))
    except ValueError:
        query.errors.append(tr(lang, "Rows per page must be a number.", "每页行数必须是数字。"))
    sort = get("sort")
    if sort:
        name, desc = sort.lstrip("-"), sort.startswith("-")
        fld = entity.fields.get(name)
        if fld is None or name in hidden or not field_types[fld.type].sortable or not field_types[fld.type].stored:
            query.errors.append(tr(lang, f"Cannot sort by '{name}'.", f"不能按“{name}”排序。"))
        else:
            query.sort = (name, desc)
    keys = [k for k in (args.keys() if hasattr(args, "keys") else []) if k.startswith("f.")]
    for key in keys[:MAX_FILTERS]:
        parts = key.split(".")
        if len(parts) != 3:
            query.errors.append(tr(lang, f"Unknown filter '{key}'.", f"未知的筛选条件“{key}”。"))
            continue
        _, name, op = parts
        fld = entity.fields.get(name)
        ftype = field_types[fld.type] if fld is not None else None
        if ftype is None or name in hidden or op not in ftype.filter_ops or not ftype.stored:
            query.errors.append(tr(lang, f"Cannot filter '{name}' by '{op}'.", f"不能按“{name}”的“{op}”筛选。"))
            continue
        raws = tuple(v for v in getlist(key) if v is not None and v != "")
        if op in ("empty", "not_empty"):
            query.filters.append(Filter(name, op, (), ("1",)))
            continue
        if not raws:
            continue
        values = []
        for raw in raws[:50]:
            try:
                values.append(ftype.parse_filter_value(raw, fld, lang))
            except ValueError as exc:
                label = fld.label.get(lang)
                query.errors.append(f"{label}: {exc}")
        if values and len(values) == len(raws[:50]):
            query.filters.append(Filter(name, op, tuple(values), raws[:50]))
    return query
