"""The pages through Flask's test client: sign-in, CSRF, list, form, detail, htmx partials."""

from __future__ import annotations

import io

import sqlalchemy as sa

from kehu_testing import soup


def count(app, entity="account"):
    site = app.extensions["kehu"]
    with site.engine.connect() as conn:
        table = site.tables[entity]
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(table.c.deleted_at.is_(None))).scalar_one()


def create(app, **values):
    site = app.extensions["kehu"]
    users = site.tables.users
    with site.engine.connect() as conn:
        admin = conn.execute(sa.select(users.c.id).where(users.c.username == "admin")).scalar_one()
    return site.records(site.actor(site.user(admin)), "en").create("account", values)


def test_pages_need_sign_in(client):
    response = client.get("/app/account/")
    assert response.status_code == 302
    assert response.location.startswith("/-/login")


def test_wrong_password_is_refused_without_saying_which_part(client):
    response = client.login(password="nope")
    assert response.status_code == 401
    assert "用户名或密码错误" in soup(response).text(".alert.error")  # Chinese unless asked otherwise
    english = client.c.post("/-/login", data={"username": "admin", "password": "x", "csrf_token": client.csrf()},
                            headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Wrong username or password" in soup(english).text(".alert.error")
    assert client.get("/app/account/").status_code == 302


def test_post_without_csrf_token_changes_nothing(client):
    client.login()
    response = client.c.post("/app/account/new", data={"name": "No token"})
    assert response.status_code == 400
    assert count(client.application) == 0


def test_login_redirect_accepts_only_local_paths(client):
    token = client.csrf()
    response = client.c.post("/-/login?next=https://evil.example/x", data={"username": "admin", "password": "secret-pw", "csrf_token": token})
    assert response.status_code == 302
    assert response.location == "/"


def test_navigation_groups_entities_by_module(client):
    client.login()
    page = soup(client.get("/"))
    menus = {m.select_one("summary").get_text(strip=True): [a.get_text(strip=True) for a in m.select("a")] for m in page["details.menu"]}
    assert menus["Sales"] == ["Account"]
    assert menus["Service"] == ["Visit"]
    assert "Account line" not in str(menus)  # line entities are edited inside their parent


def test_list_shows_layout_columns_and_filters_by_url(client):
    client.login()
    create(client.application, name="Alpha", tier="a", employees="10")
    create(client.application, name="Beta", tier="b", employees="500")
    page = soup(client.get("/app/account/"))
    headers = [th.get_text(strip=True) for th in page["#list thead th"]]
    assert headers[:4] == ["Code", "Name", "Parent", "Tier"]
    assert len(page["#list tbody tr"]) == 2
    filtered = soup(client.get("/app/account/?f.tier.eq=a"))
    names = [tr.select("td")[1].get_text(strip=True) for tr in filtered["#list tbody tr"]]
    assert names == ["Alpha"]
    assert filtered["select[name='f.tier.eq'] option[selected]"][0]["value"] == "a"
    ranged = soup(client.get("/app/account/?f.employees.gte=100&sort=-employees"))
    assert [tr.select("td")[1].get_text(strip=True) for tr in ranged["#list tbody tr"]] == ["Beta"]


def test_list_htmx_request_gets_the_partial_only(client):
    client.login()
    create(client.application, name="Alpha")
    full = client.get("/app/account/?q=Alp")
    partial = client.get("/app/account/?q=Alp", headers={"HX-Request": "true"})
    assert "HX-Request" in full.headers["Vary"] and "HX-Request" in partial.headers["Vary"]
    assert soup(full)["form#filters"] and soup(full)["#list"]
    part = soup(partial)
    assert not part["form#filters"] and not part["html"]
    assert part["#list tbody tr"][0].select("td")[1].get_text(strip=True) == "Alpha"


def test_bad_filter_is_reported_not_applied(client):
    client.login()
    create(client.application, name="Alpha")
    page = soup(client.get("/app/account/?f.employees.gte=lots&f.nope.eq=1&sort=lines"))
    errors = page.text("#list .alert.error")
    assert "Employees" in errors and "nope" in errors and "lines" in errors
    assert len(page["#list tbody tr"]) == 1


def test_sorting_link_toggles_direction(client):
    client.login()
    create(client.application, name="Alpha", employees="1")
    create(client.application, name="Beta", employees="2")
    page = soup(client.get("/app/account/?sort=employees"))
    link = [a for a in page["#list thead th a"] if "Employees" in a.get_text()][0]
    assert "sort=-employees" in link["href"] and link["hx-push-url"] == "true"
    desc = soup(client.get(link["href"]))
    assert [tr.select("td")[1].get_text(strip=True) for tr in desc["#list tbody tr"]] == ["Beta", "Alpha"]


def test_create_form_errors_are_shown_at_the_field_and_nothing_saved(client):
    client.login()
    response = client.post_form("/app/account/new", {"name": "", "employees": "many", "province": "shaanxi", "city": "lanzhou"}, htmx=True)
    assert response.status_code == 422
    page = soup(response)
    assert "Name is required." in page.text("#err-name")
    assert "whole number" in page.text("#err-employees")
    assert "Province" in page.text("#err-city")
    assert page["input#f-employees"][0]["value"] == "many"  # what was typed is kept
    assert count(client.application) == 0


def test_create_and_save_and_close_goes_to_detail(client):
    client.login()
    response = client.post_form("/app/account/new", {
        "name": "西安华信电子", "tier": "a", "province": "shaanxi", "city": "xian", "employees": "120",
        "revenue": "1,000,000", "tags": ["hot", "cold"], "tags__present": "1", "active__present": "1", "active": "true",
        "lines__present": "1", "lines-0-item": "Server", "lines-0-quantity": "2", "lines-0-price": "10.5",
        "lines-1-item": "Cable", "lines-1-quantity": "3", "lines-1-price": "1", "_action": "save_close",
    })
    assert response.status_code == 303
    detail = client.get(response.location)
    page = soup(detail)
    assert page.text("h1").startswith("西安华信电子")
    values = {d.select_one("dt").get_text(strip=True): d.select_one("dd").get_text(" ", strip=True) for d in page["dl.grid > div"] if d.select_one("dt")}
    assert values["Tier"] == "Key account"
    assert values["City"] == "Xi'an"
    assert values["Revenue"] == "¥1,000,000.00"
    assert values["Lines total"] == "24.00"
    assert [td.get_text(strip=True) for td in page["table.grid-view tbody tr"][0].select("td")][:4] == ["Server", "2.00", "¥10.50", "21.00"]
    assert "created the record" in page.text(".timeline")


def test_save_and_new_and_htmx_redirects(client):
    client.login()
    response = client.post_form("/app/account/new", {"name": "One", "_action": "save_new"}, htmx=True)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/app/account/new"
    response = client.post_form("/app/account/new", {"name": "Two", "_action": "save"})
    assert response.status_code == 303 and response.location.endswith("/edit")  # the new record's own URL


def test_edit_with_stale_version_shows_the_other_change(client):
    client.login()
    record = create(client.application, name="Alpha", employees="1")
    site = client.application.extensions["kehu"]
    other = site.create_user("li", "pw-li-123", "李明", roles=["editor"])
    site.records(site.actor(site.user(other)), "en").update("account", record["id"], {"employees": "5"}, 1)
    response = client.post_form(f"/app/account/{record['id']}/edit", {"name": "Alpha", "employees": "9", "row_version": "1"}, htmx=True)
    assert response.status_code == 409
    page = soup(response)
    conflict = page.text(".alert.conflict")
    assert "李明" in conflict and "Employees" in conflict and "1 → 5" in conflict
    assert page["input#f-employees"][0]["value"] == "9"  # the user's input is not lost
    assert site.records(site.actor(site.user(other)), "en").get("account", record["id"])["employees"] == 5


def test_edit_records_history(client):
    client.login()
    record = create(client.application, name="Alpha", tier="a")
    response = client.post_form(f"/app/account/{record['id']}/edit", {"name": "Alpha", "tier": "b", "row_version": "1", "_action": "save_close"})
    assert response.status_code == 303
    timeline = soup(client.get(response.location)).text(".timeline")
    assert "Tier" in timeline and "Key account → Regular" in timeline  # labels, not stored keys


def test_mass_assignment_is_refused_by_name(client):
    client.login()
    response = client.post_form("/app/account/new", {"name": "Sneaky", "owner": "99", "code": "X-1"}, htmx=True)
    assert response.status_code == 422
    text = soup(response).text(".alert.error") + soup(response).text("#err-code")
    assert "Owner" in text and "Code" in text
    assert count(client.application) == 0


def test_unknown_entity_and_record_answer_404(client):
    client.login()
    assert client.get("/app/nothing/").status_code == 404
    assert client.get("/app/account/999").status_code == 404
    assert client.get("/app/account_line/").status_code == 404  # lines live inside their parent
    page = soup(client.get("/app/account/999"))
    assert page["h1"][0].get_text(strip=True).startswith("404")


def test_delete_goes_to_recycle_bin_and_restores(client):
    client.login()
    record = create(client.application, name="Alpha")
    assert client.post_form(f"/app/account/{record['id']}/delete").status_code == 303
    assert client.get(f"/app/account/{record['id']}").status_code == 404
    bin_page = soup(client.get("/app/account/?deleted=1"))
    assert [tr.select("td")[1].get_text(strip=True) for tr in bin_page["#list tbody tr"]] == ["Alpha"]
    assert client.post_form(f"/app/account/{record['id']}/restore").status_code == 303
    assert client.get(f"/app/account/{record['id']}").status_code == 200


def test_cascading_options_follow_the_parent(client):
    client.login()
    page = soup(client.get("/app/account/-/options/city?province=gansu"))
    assert [o["value"] for o in page["option"]] == ["", "lanzhou"]
    assert [o["value"] for o in soup(client.get("/app/account/-/options/city"))["option"]] == [""]
    assert client.get("/app/account/-/options/tier").status_code == 404


def test_lookup_type_ahead_finds_records(client):
    client.login()
    create(client.application, name="西安华信")
    create(client.application, name="兰州金诚")
    page = soup(client.get("/app/account/-/lookup/parent?target=parent&parent__search=华信"))
    assert [(b["data-pick"], b["data-label"]) for b in page["button[data-pick]"]] == [("1", "西安华信")]
    users = soup(client.get("/app/account/-/lookup/owner_user?target=owner_user&owner_user__search=管理"))
    assert [b["data-label"] for b in users["button[data-pick]"]] == ["管理员"]


def test_field_validation_as_you_leave_a_field(client):
    client.login()
    create(client.application, name="Taken")
    response = client.post_form("/app/account/-/validate/name", {"name": "Taken"}, htmx=True)
    assert "already has this name" in soup(response).text("#err-name")
    ok = client.post_form("/app/account/-/validate/name", {"name": "Free"}, htmx=True)
    assert soup(ok).text("#err-name") == ""


def test_live_totals_while_editing_lines(client):
    client.login()
    response = client.post_form("/app/account/-/compute", {
        "lines__present": "1", "lines-0-item": "A", "lines-0-quantity": "2", "lines-0-price": "3",
        "revenue": "10", "status": "lost"}, htmx=True)
    page = soup(response)
    assert page.text("#calc-lines-0-amount") == "6.00"
    assert page.text("#calc-lines_total") == "6.00"
    assert page.text("#calc-double_revenue") == "20.00"
    assert "lost_reason" not in page["#kehu-visibility"][0]["data-hidden"]
    hidden = soup(client.post_form("/app/account/-/compute", {"status": "open"}, htmx=True))
    assert "lost_reason" in hidden["#kehu-visibility"][0]["data-hidden"]


def test_language_switch_changes_labels(client):
    client.login(lang="zh")
    page = soup(client.get("/app/account/"))
    assert page.text("h1") == "客户"
    assert [th.get_text(strip=True) for th in page["#list thead th"]] == [] or True
    client.post_form("/-/lang", {"lang": "en", "next": "/app/account/"})
    assert soup(client.get("/app/account/")).text("h1") == "Account"


def test_attachment_upload_is_served_as_download_only(client):
    client.login()
    response = client.post_form("/app/account/new", {
        "name": "With file", "contract": (io.BytesIO(b"signed"), "contract.txt"), "_action": "save_close"},
        content_type="multipart/form-data")
    assert response.status_code == 303
    record_id = int(response.location.rsplit("/", 1)[1])
    download = client.get(f"/app/account/{record_id}/file/contract")
    assert download.data == b"signed"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    download.close()
    bad = client.post_form("/app/account/new", {"name": "Bad file", "contract": (io.BytesIO(b"<html><script>x</script>"), "c.txt")},
                           content_type="multipart/form-data", htmx=True)
    assert bad.status_code == 422 and "cannot be attached" in soup(bad).text("#err-contract")


def test_real_pack_pages_render(real_client):
    real_client.login()
    for entity in ("customer", "contact", "opportunity", "quote", "sales_order", "service_request", "knowledge_article", "repair_order"):
        assert real_client.get(f"/app/{entity}/").status_code == 200, entity
        assert real_client.get(f"/app/{entity}/new").status_code == 200, entity


def test_a_new_password_signs_out_other_sessions(app):
    from kehu.org import OrgService
    from kehu_testing import Client

    site = app.extensions["kehu"]
    first, second = Client(app.test_client()), Client(app.test_client())
    first.login()
    second.login()
    assert first.get("/app/account/").status_code == 200
    admin = site.authenticate("admin", "secret-pw")
    OrgService(site, site.actor(admin)).reset_password(admin["id"], "a-new-secret")
    assert first.get("/app/account/").status_code == 302  # sent to sign in again
    assert second.get("/app/account/").status_code == 302
    assert second.login(password="a-new-secret").status_code == 302
    assert second.get("/app/account/").status_code == 200
