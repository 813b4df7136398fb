"""What every view needs: the site of the running app and the signed-in user's record service."""

from __future__ import annotations

from flask import current_app, g
from flask_login import current_user

from kehu.web import i18n


def site():
    return current_app.extensions["kehu"]


def service():
    """The signed-in user's record service, one per request (its policy reads their roles,
    department and teams once)."""
    if "kehu_service" not in g:
        g.kehu_service = site().records(site().actor(current_user.row), i18n.lang())
    return g.kehu_service
