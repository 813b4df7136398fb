"""Every hook in hookspecs.py, exercised by a plugin the way a third party would write it."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Blueprint

from kehu import create_app, hookspecs
from kehu.errors import Forbidden, RecordInvalid
from kehu.fields.builtin import Text
from kehu_testing import FIXTURE_PACK, Client, soup

PACK = Path(__file__).parent / "fixture_plugin_pack"


class Upper(Text):
    """A plugin field type: text stored in upper case."""

    name = "upper_text"

    def normalize(self, value, field):
        return value.upper() if value else value


class Everything:
    def __init__(self):
        self.saved = []
        self.in_transaction = []
        self.events = []

    @hookspecs.hookimpl
    def register_field_types(self):
        return [Upper]

    @hookspecs.hookimpl
    def register_packs(self):
        return [PACK]

    @hookspecs.hookimpl
    def register_blueprints(self, app):
        bp = Blueprint("hello", __name__)
        bp.add_url_rule("/-/hello", "hello", lambda: "hello from a plugin")
        app.register_blueprint(bp)

    @hookspecs.hookimpl
    def before_record_save(self, service, entity, values, existing):
        if entity.name == "account" and values.get("name") == "forbidden":
            raise RecordInvalid({"name": ["This name is not allowed by a plugin."]})
        if entity.name == "account" and values.get("status") is None:
            values["status"] = "set by plugin"

    @hookspecs.hookimpl
    def after_record_save(self, service, entity, record, created, conn):
        self.saved.append((entity.name, record["id"], created))
        self.in_transaction.append(conn.in_transaction())  # the save's own connection, mid-transaction

    @hookspecs.hookimpl
    def prepare_new_record(self, service, entity, record):
        if entity.name == "account" and not record.get("notes"):
            record["notes"] = f"prepared for {service.actor.username}"

    @hookspecs.hookimpl
    def before_record_delete(self, service, entity, record):
        if record.get("name") == "keep me":
            raise Forbidden("Kept by a plugin.")

    @hookspecs.hookimpl
    def record_actions(self, entity, record, user):
        return [{"label": "Print label", "url": f"/-/hello?id={record['id']}", "method": "get"}]

    @hookspecs.hookimpl
    def extra_template_vars(self, template, request):
        return {"plugin_banner": "banner"}

    @hookspecs.hookimpl
    def after_approval_event(self, service, conn, entity, record_id, approval_id, action, step, comment):
        if action == "submit" and comment == "veto":
            raise Forbidden("Refused by a plugin.")
        self.events.append((entity.name, record_id, action, step, comment))


@pytest.fixture
def plugin_app(db_url, tmp_path):
    plugin = Everything()
    app = create_app({"DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "t",
                      "BASE_PACK": FIXTURE_PACK, "PLUGINS_DIR": None, "PLUGINS": [plugin]})
    site = app.extensions["kehu"]
    site.migrate()
    site.create_user("admin", "secret-pw", "Admin", is_admin=True, locale="en")
    app.plugin = plugin
    yield app
    site.engine.dispose()


def service(app):
    site = app.extensions["kehu"]
    return site.records(site.actor(site.authenticate("admin", "secret-pw")), "en")


def test_field_types_and_packs_come_from_plugins(plugin_app):
    site = plugin_app.extensions["kehu"]
    assert "upper_text" in site.field_types
    assert site.metadata.entity("account").field("nickname").type == "upper_text"
    record = service(plugin_app).create("account", {"name": "Acme", "nickname": "ace"})
    assert record["nickname"] == "ACE"


def test_save_hooks_adjust_refuse_and_observe(plugin_app):
    svc = service(plugin_app)
    record = svc.create("account", {"name": "Acme"})
    assert record["status"] == "set by plugin"
    assert plugin_app.plugin.saved == [("account", record["id"], True)]
    svc.update("account", record["id"], {"employees": "3"}, record["row_version"])
    assert plugin_app.plugin.saved[-1] == ("account", record["id"], False)
    assert plugin_app.plugin.in_transaction == [True, True]
    with pytest.raises(RecordInvalid) as refused:
        svc.create("account", {"name": "forbidden"})
    assert refused.value.errors == {"name": ["This name is not allowed by a plugin."]}
    assert svc.count("account") == 1


def test_a_new_records_form_is_prepared_by_plugins_and_nothing_is_saved(plugin_app):
    client = Client(plugin_app.test_client())
    client.login()
    page = soup(client.get("/app/account/new"))
    assert page.text("#f-notes") == "prepared for admin"
    assert service(plugin_app).count("account") == 0


def test_delete_hook_can_refuse(plugin_app):
    svc = service(plugin_app)
    kept = svc.create("account", {"name": "keep me"})
    with pytest.raises(Forbidden):
        svc.delete("account", kept["id"])
    assert svc.get("account", kept["id"])["name"] == "keep me"


def test_blueprints_actions_and_template_vars(plugin_app):
    client = Client(plugin_app.test_client())
    client.login()
    assert client.get("/-/hello").get_data(as_text=True) == "hello from a plugin"
    record = service(plugin_app).create("account", {"name": "Acme"})
    page = soup(client.get(f"/app/account/{record['id']}"))
    assert [a.get_text(strip=True) for a in page[".title-row a.button"]][-1] == "Print label"
    with plugin_app.test_request_context():
        from flask import render_template_string

        assert render_template_string("{{ plugin_banner }}") == "banner"


def test_approval_events_reach_plugins_and_a_plugin_can_refuse(plugin_app):
    svc = service(plugin_app)
    record = svc.create("account", {"name": "Acme", "employees": "500"})
    with pytest.raises(Forbidden, match="Refused by a plugin"):
        svc.approvals.submit("account", record["id"], "veto")
    assert svc.approvals.current("account", record["id"]) is None  # nothing of the refused submit stayed
    assert svc.get("account", record["id"])["workflow_state"] is None
    approval = svc.approvals.submit("account", record["id"], "please")
    svc.approvals.approve(approval["tasks"][0].id, "fine")
    assert plugin_app.plugin.events == [
        ("account", record["id"], "submit", None, "please"),
        ("account", record["id"], "approve", "admin_review", "fine"),
        ("account", record["id"], "approved", None, None),
    ]


def test_a_misspelled_hook_fails_at_start_up(db_url, tmp_path):
    class Typo:
        @hookspecs.hookimpl
        def before_record_sav(self, service, entity, values, existing):
            pass

    with pytest.raises(Exception, match="before_record_sav"):
        create_app({"DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "t",
                    "BASE_PACK": FIXTURE_PACK, "PLUGINS_DIR": None, "PLUGINS": [Typo()]})


def test_every_hook_is_exercised_here():
    specs = {name for name in dir(hookspecs) if callable(getattr(hookspecs, name)) and hasattr(getattr(hookspecs, name), "kehu_spec")}
    implemented = {name for name in vars(Everything) if not name.startswith("_")}
    assert specs and specs <= implemented
