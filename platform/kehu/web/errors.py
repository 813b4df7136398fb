"""One rendering path for every error: JSON for the API, a partial for htmx, a page otherwise."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from kehu.errors import KehuError
from kehu.web.i18n import gettext as _


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    """The fixed JSON error shape of the API."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _render(status: int, code: str, message: str, fields=None):
    if request.path.startswith("/api/"):
        return error_body(code, message, fields), status
    titles = {404: _("Page not found"), 403: _("Not allowed"), 423: _("Locked"), 422: _("Invalid input")}
    template = "_error.html" if request.headers.get("HX-Request") else "error.html"
    return render_template(template, status=status, title=titles.get(status, _("Something went wrong")), message=message), status


def register(app) -> None:
    @app.errorhandler(KehuError)
    def kehu_error(exc: KehuError):
        fields = getattr(exc, "errors", None)
        return _render(exc.status, exc.code, str(exc) if not fields else _("Please correct the marked fields."), fields)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _render(400, "csrf", _("Your session expired or the form is stale. Reload the page and try again."))

    @app.errorhandler(sa.exc.DataError)
    @app.errorhandler(OverflowError)
    def data_error(exc):
        """The last line: a value the database refused (PostgreSQL: out of range, too long, a
        NUL; SQLite: an integer beyond 64 bits). Every input path checks values against their
        columns first, so this means a check is missing: logged, and answered with a message,
        never a 500 with a traceback. The transaction was rolled back: nothing changed."""
        current_app.logger.warning("value refused by the database on %s %s: %s", request.method, request.path,
                                   str(exc).splitlines()[0][:300])
        return _render(422, "invalid", _("A value could not be stored: a number is out of range, a text is too long "
                                         "or holds a character that cannot be stored. Nothing was changed."))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 404:
            return _render(404, "not_found", _("The link may be wrong, or the record was deleted or is not visible to you."))
        return _render(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or exc.name)
