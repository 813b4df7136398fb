"""What a lookup shows when its target cannot be named: a neutral text, never an id.

A lookup may point at a record the viewer cannot read (a colleague's customer) or at one that
was deleted. :meth:`RecordService.labels_for` then puts an :class:`Unreadable` in place of the
title: a string in the viewer's language ("(no access)", "(deleted)") that pages, lists,
history, forms and exports print as it is, and that pages never turn into a link.
"""

from __future__ import annotations

from kehu.fields.base import tr

NO_ACCESS = "no_access"
DELETED = "deleted"

_TEXTS = {
    NO_ACCESS: ("(no access)", "（无权查看）"),
    DELETED: ("(deleted)", "（已删除）"),
}


class Unreadable(str):
    """A lookup's label in place of a title the viewer may not see; ``reason`` says why."""

    reason: str

    def __new__(cls, reason: str, lang: str | None):
        text = tr(lang, *_TEXTS[reason])
        obj = super().__new__(cls, text)
        obj.reason = reason
        return obj
