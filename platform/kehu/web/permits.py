"""What the signed-in user may do, for templates: menus and buttons follow the policy.

``can(entity, action, record=None)`` asks the record service's policy: without a record, whether
the user's roles grant the action at any level (a New button, a menu entry); with a record,
whether it reaches that record. Per-record answers are fetched for every action at once and
kept for the request, and ``can_rows`` answers for a whole list in one query, so buttons never
cost a query per row. A hidden button is only a courtesy: the record service refuses the
action itself.
"""

from __future__ import annotations

from flask import g
from flask_login import current_user

from kehu.metadata.model import ACTIONS, Entity
from kehu.records.policy import allowed_actions
from kehu.web.context import service, site


def _entity(entity) -> Entity | None:
    return entity if isinstance(entity, Entity) else site().metadata.entities.get(entity)


def _cache() -> dict:
    if "kehu_permits" not in g:
        g.kehu_permits = {}
    return g.kehu_permits


def can(entity, action: str, record: dict | None = None) -> bool:
    """Whether the signed-in user may ``action`` the entity (or that record of it)."""
    if not current_user.is_authenticated:
        return False
    ent = _entity(entity)
    if ent is None:
        return False
    policy = service().policy
    record_id = (record or {}).get("id")
    if record_id is None:
        return policy.level(ent.name, action) != "none"
    cache = _cache()
    key = (ent.name, record_id)
    if key not in cache:
        cache.update({(ent.name, rid): acts for rid, acts in allowed_actions(policy, ent, ACTIONS, [record_id]).items()})
        cache.setdefault(key, frozenset())
    return action in cache[key]


def can_rows(entity, action: str, rows) -> set[int]:
    """The ids of ``rows`` (records or ids) the user may ``action``, in one query."""
    ent = _entity(entity)
    if ent is None or not current_user.is_authenticated:
        return set()
    policy = service().policy
    if policy.level(ent.name, action) == "none":
        return set()
    ids = [r.get("id") if isinstance(r, dict) else r for r in rows]
    cache = _cache()
    missing = [i for i in ids if (ent.name, i) not in cache]
    if missing:
        found = allowed_actions(policy, ent, ACTIONS, missing)
        for rid in missing:
            cache[(ent.name, rid)] = found.get(rid, frozenset())
    return {i for i in ids if action in cache.get((ent.name, i), ())}


def nav():
    """The menu: modules with the entities the user can read (modules with none left out)."""
    if not current_user.is_authenticated:
        return []
    if "kehu_nav" not in g:
        policy = service().policy
        g.kehu_nav = site().metadata.nav(lambda e: policy.level(e.name, "read") != "none")
    return g.kehu_nav


def register(app) -> None:
    app.add_template_global(can, "can")
    app.add_template_global(can_rows, "can_rows")
    app.add_template_global(nav, "nav")
