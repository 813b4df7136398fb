"""The built-in buttons of a record's page (the ``record_actions`` default plugin).

- "Create <entity>": a lookup that declares ``new_action`` (``sales_order.quote`` says
  "Create order") puts a button on the looked-up record's page, while its ``when`` holds,
  for users who may create that entity. It opens the new form with the lookup filled
  (``/app/sales_order/new?quote=7``), and the lookup's ``fill`` copies the rest.
- "Convert" on a lead that is not converted yet, for users who may change it and create
  customers (:mod:`kehu.records.conversion`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import url_for

from kehu import expressions
from kehu.metadata.model import Label
from kehu.web.i18n import gettext as _


def record_actions(svc, entity, record: dict) -> list[dict]:
    if entity.child_of or record.get("id") is None:
        return []
    out = []
    if entity.name == "lead" and svc.conversion.can_convert(record):
        out.append({"label": _("Convert"), "url": url_for("sales.convert", lead_id=record["id"]), "method": "get",
                    "name": "convert"})
    for other in svc.meta.entities.values():
        if other.child_of:
            continue
        for fld in other.lookups():
            action = fld.get("new_action")
            if fld.type != "lookup" or fld.target != entity.name or not action:
                continue
            if not svc.policy.can(other, "create") or not _holds(svc, entity, action.get("when"), record):
                continue
            out.append({"label": Label.of(action.get("label")).get(svc.lang),
                        "url": url_for("records.new", entity=other.name) + "?" + urlencode({fld.name: record["id"]}),
                        "method": "get", "name": f"new-{other.name}"})
    return out


def _holds(svc, entity, condition: str | None, record: dict) -> bool:
    if not condition:
        return True
    try:
        return bool(expressions.evaluate(condition, svc._env(entity.name, record)))
    except expressions.ExpressionError:
        return False
