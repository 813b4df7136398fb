"""The app factory: one Flask app for one site, with explicit settings and no globals."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from jinja2 import ChoiceLoader, FileSystemLoader

from kehu.site import Site

DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 110 * 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,
}


def settings_from_env(instance_path: Path) -> dict:
    """Settings read from ``KEHU_*`` environment variables (explicit settings win)."""
    out: dict = {}
    if os.environ.get("KEHU_DATABASE_URL"):
        out["DATABASE_URL"] = os.environ["KEHU_DATABASE_URL"]
    if os.environ.get("KEHU_PACKS"):
        out["PACKS"] = [p for p in os.environ["KEHU_PACKS"].split(os.pathsep) if p]
    if os.environ.get("KEHU_SECRET_KEY"):
        out["SECRET_KEY"] = os.environ["KEHU_SECRET_KEY"]
    if os.environ.get("KEHU_PASSWORD_HASH_METHOD"):
        out["PASSWORD_HASH_METHOD"] = os.environ["KEHU_PASSWORD_HASH_METHOD"]
    return out


def _secret_key(instance_path: Path) -> str:
    """A per-instance secret kept in the instance folder, so sessions survive restarts."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(settings: dict | None = None) -> Flask:
    settings = dict(settings or {})
    instance = Path(settings.get("INSTANCE_PATH") or os.environ.get("KEHU_INSTANCE_PATH") or Path.cwd() / "instance")
    app = Flask("kehu", instance_path=str(instance.resolve()), instance_relative_config=True,
                static_folder=str(Path(__file__).parent / "web" / "static"), static_url_path="/-/static")
    app.config.update(DEFAULTS)
    app.config["INSTANCE_PATH"] = app.instance_path
    app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'kehu.db'}"
    app.config.update(settings_from_env(Path(app.instance_path)))
    app.config.update(settings)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))
    if app.config["DATABASE_URL"].startswith("sqlite:///"):
        Path(app.config["DATABASE_URL"][len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)

    site = Site.from_settings(app.config)
    app.extensions["kehu"] = site

    # template override chain: site templates > plugin templates (registered later) > built-ins
    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(str(Path(app.instance_path) / "templates")),
        FileSystemLoader(str(Path(__file__).parent / "web" / "templates")),
    ])

    from kehu.web import routing

    routing.install(app)  # bounded ids in every <int:...> route, before any route is added
    Htmx(app)
    CSRFProtect(app)
    from kehu.web import i18n

    Babel(app, locale_selector=i18n.select_locale)
    login = LoginManager(app)
    login.login_view = "auth.login"

    from kehu.web import admin, approvals, auth, dispatch, errors, export, ownership, pages, records, sales, team, timeline, workbench

    login.user_loader(auth.load_user)
    login.unauthorized_handler(auth.unauthorized)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(records.bp)
    app.register_blueprint(export.bp)
    app.register_blueprint(ownership.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(team.bp)
    app.register_blueprint(approvals.bp)
    app.register_blueprint(workbench.bp)
    app.register_blueprint(timeline.bp)
    app.register_blueprint(sales.bp)
    app.register_blueprint(dispatch.bp)
    errors.register(app)
    pages.register_template_helpers(app)
    site.pm.hook.register_blueprints(app=app)
    return app
