"""The PASSWORD_HASH_METHOD setting: every password the site stores is hashed with it."""

from __future__ import annotations

import sqlalchemy as sa

from kehu import create_app
from kehu.app import settings_from_env
from kehu.org import OrgService
from kehu_testing import FIXTURE_PACK


def stored_hash(site, username: str) -> str:
    users = site.tables.users
    with site.reading() as conn:
        return conn.execute(sa.select(users.c.password_hash).where(users.c.username == username)).scalar_one()


def make_app(tmp_path, **settings):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/k.db", "INSTANCE_PATH": str(tmp_path / "i"),
                      "SECRET_KEY": "s", "BASE_PACK": FIXTURE_PACK, "PLUGINS_DIR": None, **settings})
    app.extensions["kehu"].migrate()
    return app


def test_the_setting_chooses_the_method_for_new_users_and_new_passwords(tmp_path):
    app = make_app(tmp_path, PASSWORD_HASH_METHOD="pbkdf2:sha256:2000")
    site = app.extensions["kehu"]
    admin = site.create_user("admin", "secret-pw-1", "管理员", is_admin=True)
    other = site.create_user("li", "secret-pw-2", "李明")
    assert stored_hash(site, "li").startswith("pbkdf2:sha256:2000$")
    OrgService(site, site.actor(site.user(admin)), "zh").reset_password(other, "new-secret-pw")
    assert stored_hash(site, "li").startswith("pbkdf2:sha256:2000$")
    assert site.authenticate("li", "new-secret-pw") is not None
    assert site.authenticate("li", "secret-pw-2") is None
    site.engine.dispose()


def test_without_the_setting_passwords_use_werkzeugs_default(tmp_path, monkeypatch):
    monkeypatch.delenv("KEHU_PASSWORD_HASH_METHOD", raising=False)
    app = make_app(tmp_path)
    site = app.extensions["kehu"]
    site.create_user("li", "secret-pw-2", "李明")
    assert stored_hash(site, "li").startswith("scrypt:")
    site.engine.dispose()


def test_the_environment_sets_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KEHU_PASSWORD_HASH_METHOD", "pbkdf2:sha256:3000")
    assert settings_from_env(tmp_path)["PASSWORD_HASH_METHOD"] == "pbkdf2:sha256:3000"
