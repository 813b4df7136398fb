"""A form sent twice makes one change: a double click or a client's retry of a create form
creates one record (its one-time key, stored with the record in the same transaction), and
the same edit sent twice is saved once, without a false conflict. htmx disables the save
buttons while a request runs."""

from __future__ import annotations

import sqlalchemy as sa

import pytest

from kehu.errors import Conflict, RecordInvalid
from kehu_testing import Client, soup
from test_workflows import race


def accounts(app) -> list[dict]:
    site = app.extensions["kehu"]
    table = site.tables["account"]
    with site.reading() as c:
        return [dict(r) for r in c.execute(sa.select(table).order_by(table.c.id)).mappings()]


def new_form(client) -> dict:
    page = soup(client.get("/app/account/new"))
    form = page["form#record-form"][0]
    return {"token": form.select_one("input[name=form_token]")["value"], "form": form}


def admin_service(app):
    site = app.extensions["kehu"]
    return site.records(site.actor(site.authenticate("admin", "secret-pw")), "en")


def test_a_create_form_sent_twice_creates_one_record_and_both_go_to_it(client):
    client.login()
    token = new_form(client)["token"]
    data = {"name": "Acme", "form_token": token, "_action": "save_close"}
    first = client.post_form("/app/account/new", data)
    second = client.post_form("/app/account/new", data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    rows = accounts(client.application)
    assert [r["name"] for r in rows] == ["Acme"]
    assert first.headers["Location"].endswith(f"/app/account/{rows[0]['id']}")
    # htmx answers alike
    again = client.post_form("/app/account/new", data, htmx=True)
    assert again.status_code == 204 and again.headers["HX-Redirect"] == first.headers["Location"]
    # a new form has a new key
    assert new_form(client)["token"] != token
    assert client.post_form("/app/account/new", {"name": "Beta", "form_token": new_form(client)["token"]}).status_code == 303
    assert [r["name"] for r in accounts(client.application)] == ["Acme", "Beta"]


def test_a_refused_create_keeps_its_key_so_the_corrected_form_creates_once(client):
    client.login()
    token = new_form(client)["token"]
    refused = client.post_form("/app/account/new", {"name": "", "form_token": token})
    assert refused.status_code == 422
    assert soup(refused)["input[name=form_token]"][0]["value"] == token  # nothing was created under it
    data = {"name": "Gamma", "form_token": token}
    assert client.post_form("/app/account/new", data).status_code == 303
    assert client.post_form("/app/account/new", data).status_code == 303
    assert [r["name"] for r in accounts(client.application)] == ["Gamma"]


def test_a_key_is_the_users_own_and_must_look_like_one(app):
    site = app.extensions["kehu"]
    admin = admin_service(app)
    other_id = site.create_user("other", "secret-pw", "Other", is_admin=True, locale="en")
    other = site.records(site.actor(site.user(other_id)), "en")
    key = admin.new_once_key()
    first = admin.create("account", {"name": "Delta"}, once=key)
    assert admin.create("account", {"name": "Delta"}, once=key)["id"] == first["id"]
    with pytest.raises(RecordInvalid) as info:
        other.create("account", {"name": "Epsilon"}, once=key)
    assert "already used" in str(info.value)
    for bad in ("short", "x" * 65, "has space in it here", "<script>alert(1)</script>"):
        with pytest.raises(RecordInvalid):
            admin.create("account", {"name": "Zeta"}, once=bad)
    assert [r["name"] for r in accounts(app)] == ["Delta"]


def test_the_same_key_at_the_same_moment_creates_one_record(app):
    site = app.extensions["kehu"]
    key = admin_service(app).new_once_key()

    def create():
        return site.records(site.actor(site.authenticate("admin", "secret-pw")), "en").create(
            "account", {"name": "Simultaneous", "lines": [{"item": "one"}]}, once=key)["id"]

    results = race(create, create, create)
    assert [kind for kind, _ in results] == ["ok", "ok", "ok"], results
    assert len({rid for _, rid in results}) == 1
    assert len(accounts(app)) == 1
    lines = site.tables["account_line"]
    with site.reading() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(lines)).scalar_one() == 1


def test_the_create_form_disables_its_save_buttons_while_it_is_sent(client):
    client.login()
    form = new_form(client)["form"]
    disabled = [part.strip() for part in form["hx-disabled-elt"].split(",")]
    buttons = [b["value"] for b in form.select("button[name=_action]")]
    assert sorted(buttons) == ["save", "save_close", "save_new"]
    assert sorted(disabled) == sorted(f"find button[value={b}]" for b in buttons)


def test_the_same_edit_sent_twice_is_saved_once_without_a_conflict(client):
    client.login()
    record = admin_service(client.application).create("account", {"name": "Eta"})
    data = {"name": "Eta", "notes": "called", "row_version": str(record["row_version"])}
    first = client.post_form(f"/app/account/{record['id']}/edit", data)
    second = client.post_form(f"/app/account/{record['id']}/edit", data)
    assert first.status_code == second.status_code == 303
    history = admin_service(client.application).history("account", record["id"])
    assert [(h["action"], h["field"]) for h in history] == [("update", "notes"), ("create", None)]
    # a stale form that would change something is still a conflict
    stale = client.post_form(f"/app/account/{record['id']}/edit", dict(data, notes="other"))
    assert stale.status_code == 409
    with pytest.raises(Conflict):
        admin_service(client.application).update("account", record["id"], {"name": ""}, record["row_version"])


def test_the_edit_form_has_no_one_time_key(client):
    client.login()
    record = admin_service(client.application).create("account", {"name": "Theta"})
    page = soup(client.get(f"/app/account/{record['id']}/edit"))
    assert page["input[name=form_token]"] == [] and page["input[name=row_version]"]


def test_a_browser_without_htmx_posts_the_key_too(client):
    """The key is an ordinary hidden input: a plain form post carries it as well."""
    client.login()
    form = new_form(client)["form"]
    assert form["method"] == "post" and form.select_one("input[type=hidden][name=form_token]")


def test_another_users_session_cannot_replay_a_key(app):
    site = app.extensions["kehu"]
    site.create_user("mallory", "secret-pw", "Mallory", is_admin=True, locale="en")
    alice = Client(app.test_client())
    alice.login()
    token = new_form(alice)["token"]
    assert alice.post_form("/app/account/new", {"name": "Iota", "form_token": token}).status_code == 303
    mallory = Client(app.test_client())
    mallory.login("mallory")
    replay = mallory.post_form("/app/account/new", {"name": "Iota 2", "form_token": token})
    assert replay.status_code == 422 and "already used" in soup(replay).text(".alert.error")
    assert [r["name"] for r in accounts(app)] == ["Iota"]
