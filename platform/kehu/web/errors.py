"""One rendering path for every error: JSON for the API, a partial for htmx, a page otherwise.

A database that cannot answer (down, unreadable, its disk full) or that has not been
migrated to the site's metadata answers 503 with a page that needs no database: it is
rendered from its template alone, without the signed-in user or anything the templates'
context would read. The app recovers by itself: the next request tries again (dead pooled
connections are replaced, see ``kehu/db/engine.py``), and the schema check sees a migrate.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from kehu.db.engine import is_disk_full
from kehu.errors import KehuError
from kehu.web.i18n import gettext as _

UNAVAILABLE_MESSAGES = {
    "down": "The database cannot be reached right now. Try again in a little while.",
    "disk_full": "The server's disk is full; nothing was saved. Try again later.",
    "schema": "The database is not up to date: run kehu migrate.",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    """The fixed JSON error shape of the API."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _render(status: int, code: str, message: str, fields=None, changes=()):
    if request.path.startswith("/api/"):
        return error_body(code, message, fields), status
    titles = {404: _("Page not found"), 403: _("Not allowed"), 423: _("Locked"), 409: _("Changed meanwhile"),
              422: _("Invalid input")}
    template = "_error.html" if request.headers.get("HX-Request") else "error.html"
    return render_template(template, status=status, title=titles.get(status, _("Something went wrong")), message=message,
                           changes=changes), status


def unavailable(reason: str):
    """503 without touching the database (no current_user, no context processors)."""
    headers = {"Retry-After": "30", "Cache-Control": "no-store"}
    if request.headers.get("HX-Request"):
        headers["HX-Refresh"] = "true"  # htmx swaps no 503: the browser reloads and shows this page
    if request.path.startswith("/api/"):
        return error_body("unavailable", UNAVAILABLE_MESSAGES[reason]), 503, headers
    html = current_app.jinja_env.get_template("unavailable.html").render(reason=reason)
    return html, 503, headers


def register(app) -> None:
    @app.before_request
    def schema_is_current():
        """Refuse to serve (503) while the database lags the metadata: a clear page instead
        of errors on the pages that read a missing column."""
        if request.endpoint == "static":
            return None
        if not app.extensions["kehu"].schema_is_current():
            return unavailable("schema")
        return None

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    def database_unavailable(exc):
        current_app.logger.warning("database unavailable: %s", exc)
        return unavailable("disk_full" if is_disk_full(exc) else "down")

    @app.errorhandler(KehuError)
    def kehu_error(exc: KehuError):
        fields = getattr(exc, "errors", None)
        return _render(exc.status, exc.code, str(exc) if not fields else _("Please correct the marked fields."), fields,
                       getattr(exc, "changes", ()))  # a conflict says what changed meanwhile

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
