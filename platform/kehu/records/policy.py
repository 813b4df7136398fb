"""The permission policy: the single gate the record service asks before any read or write.

Every read query carries :meth:`Policy.read_predicate` as an SQL condition, so lists,
counts, search, lookups and related lists filter in the database. This first version knows
two kinds of actors: signed-in active users, who may do everything, and nobody else. The
role model (``metadata/roles``: levels own/department/department_tree/all per action and
field access) plugs in here without changing any caller.
"""

from __future__ import annotations

import sqlalchemy as sa

from kehu.errors import Forbidden
from kehu.fields.base import tr


class Policy:
    def __init__(self, site, actor):
        self.site = site
        self.actor = actor

    def read_predicate(self, entity, table: sa.Table):
        """An SQL condition selecting the rows of ``table`` the actor may read (fail closed)."""
        return sa.true() if self.actor is not None else sa.false()

    def can(self, entity, action: str, record: dict | None = None) -> bool:
        return self.actor is not None

    def require(self, entity, action: str, record: dict | None = None) -> None:
        if not self.can(entity, action, record):
            lang = getattr(self.actor, "locale", "zh")
            raise Forbidden(tr(lang, "You are not allowed to do this.", "您无权执行此操作。"))

    def can_edit_field(self, entity, field_name: str) -> bool:
        return True

    def can_read_field(self, entity, field_name: str) -> bool:
        return True
