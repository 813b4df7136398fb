"""The organisation and ownership pages through Flask's test client: the system pages under
/-/admin/ (users, departments, teams, transfer, audit log), assign / share / explain on record
pages, bulk assign on lists, and "My team"."""

from __future__ import annotations

import datetime as dt

import pytest

from kehu.org import OrgService
from kehu_testing import Client, soup

PASSWORD = "pw-secret-123"


# ------------------------------------------------------------------ helpers
def site_of(app):
    return app.extensions["kehu"]


def org(app) -> OrgService:
    site = site_of(app)
    return OrgService(site, site.actor(site.authenticate("admin", "secret-pw")), "en")


def admin_id(app) -> int:
    return site_of(app).authenticate("admin", "secret-pw")["id"]


def user(app, username, name=None, roles=(), department_id=None, teams=()) -> int:
    return site_of(app).create_user(username, PASSWORD, name or username.title(), roles=list(roles),
                                    department_id=department_id, teams=list(teams), locale="en")


def service_of(app, user_id):
    site = site_of(app)
    return site.records(site.actor(site.user(user_id)), "en")


def signed_in(app, username, password=PASSWORD) -> Client:
    client = Client(app.test_client())
    response = client.login(username, password)
    assert response.status_code == 302, username
    return client


def account(app, owner_id, name):
    return service_of(app, owner_id).create("account", {"name": name})


def owner_of(app, record_id, entity="account"):
    return service_of(app, admin_id(app)).get(entity, record_id)["owner"]


def audit_actions(app) -> list[str]:
    return [entry["action"] for entry in org(app).audit_log()]


def rows(page, selector) -> list[list[str]]:
    return [[td.get_text(" ", strip=True) for td in tr.select("td")] for tr in page[selector]]


# ------------------------------------------------------------ admin only
ADMIN_PAGES = ["/-/admin/", "/-/admin/users", "/-/admin/users/new", "/-/admin/users/1", "/-/admin/departments",
               "/-/admin/departments/new", "/-/admin/teams", "/-/admin/teams/new", "/-/admin/transfer",
               "/-/admin/transfer?from_user=1&to_user=2", "/-/admin/audit", "/-/admin/workflows",
               "/-/admin/workflows/anything"]


def test_system_pages_are_for_administrators_only(app, client):
    editor = user(app, "li", "李明", roles=["editor"])
    record = account(app, admin_id(app), "Alpha")
    li = signed_in(app, "li")
    for url in ADMIN_PAGES:
        response = li.get(url)
        assert response.status_code == 403, url
        assert soup(response).text("h1").startswith("403"), url
    assert li.get(f"/app/account/{record['id']}/explain?user={editor}").status_code == 403
    before = audit_actions(app)
    posts = {"/-/admin/users/new": {"username": "x", "display_name": "X", "password": "long-enough", "locale": "en"},
             f"/-/admin/users/{editor}": {"display_name": "Hacked", "locale": "en", "is_admin": "1", "is_active": "1"},
             f"/-/admin/users/{editor}/password": {"password": "another-pw"},
             "/-/admin/departments/new": {"name": "D"}, "/-/admin/teams/new": {"name": "T"},
             "/-/admin/transfer": {"from_user": str(admin_id(app)), "to_user": str(editor)}}
    for url, data in posts.items():
        assert li.post_form(url, data).status_code == 403, url
    assert audit_actions(app) == before
    assert len(org(app).users()) == 2 and org(app).user(editor)["display_name"] == "李明"
    assert org(app).departments() == {} and org(app).teams() == []
    assert owner_of(app, record["id"]) == admin_id(app)
    # the top bar offers the system menu to administrators only
    assert not soup(li.get("/"))["nav.own details.system"]
    client.login()
    menu = soup(client.get("/"))["nav.own details.system a"]
    assert [a["href"] for a in menu] == ["/-/admin/users", "/-/admin/departments", "/-/admin/teams",
                                         "/-/admin/transfer", "/-/admin/audit", "/-/admin/workflows"]


def test_system_pages_need_sign_in(client):
    response = client.get("/-/admin/users")
    assert response.status_code == 302 and response.location.startswith("/-/login")


# ------------------------------------------------------------------ users
def test_admin_creates_a_user_with_department_roles_and_teams(app, client):
    client.login()
    dept = org(app).create_department("销售部", name_en="Sales")
    team = org(app).create_team("West")
    form = soup(client.get("/-/admin/users/new"))
    assert [(i["value"], i.parent.get_text(strip=True)) for i in form["#f-roles input"]] == [
        ("editor", "Editor"), ("manager", "Manager"), ("rep", "Rep"), ("viewer", "Viewer")]
    assert [o["value"] for o in form["#f-department_id option"]] == ["", str(dept)]
    response = client.post_form("/-/admin/users/new", {
        "username": "wang", "display_name": "王芳", "password": "long-password", "email": "wang@example.cn",
        "locale": "zh", "department_id": str(dept), "roles": ["rep", "viewer"], "teams": [str(team)]})
    assert response.status_code == 303 and response.location == "/-/admin/users"
    page = soup(client.get(response.location))
    assert "王芳" in page.text(".alert.ok")
    created = [u for u in org(app).users() if u["username"] == "wang"][0]
    assert (created["department_id"], created["roles"], created["teams"], created["is_admin"]) == (dept, ["rep", "viewer"], [team], False)
    row = page[f"#users tr[data-user='{created['id']}']"][0]
    assert [td.get_text(strip=True) for td in row.select("td")] == ["wang", "王芳", "Sales", "Rep, Viewer", "Active", ""]
    assert "user.create" in audit_actions(app)
    assert signed_in(app, "wang", "long-password").get("/").status_code == 200


def test_user_form_errors_are_shown_at_the_fields_and_nothing_saved(app, client):
    client.login()
    response = client.post_form("/-/admin/users/new", {"username": "", "display_name": " ", "password": "short",
                                                       "locale": "en", "roles": ["rep"]})
    assert response.status_code == 422
    page = soup(response)
    assert "username is needed" in page.text("#err-username")
    assert "at least 8" in page.text("#err-password")
    assert "name is needed" in page.text("#err-display_name")
    assert page["#f-roles input[value=rep]"][0].has_attr("checked")  # what was chosen is kept
    assert not page["#f-password"][0].get("value")  # a password is never sent back
    taken = client.post_form("/-/admin/users/new", {"username": "admin", "display_name": "Two", "password": "long-password",
                                                    "locale": "en", "roles": ["nobody"]})
    assert taken.status_code == 422 and "Unknown role" in soup(taken).text("#err-roles")
    dup = client.post_form("/-/admin/users/new", {"username": "admin", "display_name": "Two", "password": "long-password",
                                                  "locale": "en"})
    assert dup.status_code == 422 and "taken" in soup(dup).text("#err-username")
    bad = client.post_form("/-/admin/users/new", {"username": "x", "display_name": "X", "password": "long-password",
                                                  "locale": "en", "department_id": "99", "teams": ["7"]})
    assert bad.status_code == 422
    assert soup(bad).text("#err-department_id") and soup(bad).text("#err-teams")
    assert [u["username"] for u in org(app).users()] == ["admin"]


def test_user_pages_in_chinese(app, client):
    client.login(lang="zh")
    user(app, "li", "李明", roles=["rep"])
    page = soup(client.get("/-/admin/users"))
    assert [th.get_text(strip=True) for th in page["#users th"]] == ["用户名", "姓名", "部门", "角色", "状态", "管理员"]
    assert rows(page, "#users tbody tr")[1][3:5] == ["代表", "在职"]
    assert page.text("nav.own details.system summary") == "系统管理"


def test_deactivated_user_cannot_sign_in_and_is_signed_out(app, client):
    li = user(app, "li", "李明", roles=["editor"])
    session = signed_in(app, "li")
    assert session.get("/app/account/").status_code == 200
    client.login()
    response = client.post_form(f"/-/admin/users/{li}", {"display_name": "李明", "locale": "en", "roles": ["editor"]})
    assert response.status_code == 303
    assert org(app).user(li)["is_active"] is False
    assert rows(soup(client.get("/-/admin/users")), f"#users tr[data-user='{li}']")[0][4] == "Deactivated"
    assert session.get("/app/account/").status_code == 302  # the open session ends at once
    assert Client(app.test_client()).login("li", PASSWORD).status_code == 401
    # and back again
    client.post_form(f"/-/admin/users/{li}", {"display_name": "李明", "locale": "en", "roles": ["editor"], "is_active": "1"})
    assert signed_in(app, "li").get("/app/account/").status_code == 200


def test_role_change_takes_effect_on_the_next_request(app, client):
    li = user(app, "li", "李明", roles=["rep"])
    record = account(app, admin_id(app), "Alpha")
    session = signed_in(app, "li")
    assert session.get(f"/app/account/{record['id']}").status_code == 404
    client.login()
    form = soup(client.get(f"/-/admin/users/{li}"))
    assert form["#f-roles input[value=rep]"][0].has_attr("checked")
    assert form["#f-is_active"][0].has_attr("checked") and not form["#f-username"]
    response = client.post_form(f"/-/admin/users/{li}", {"display_name": "李明", "locale": "en", "roles": ["editor"],
                                                         "is_active": "1"})
    assert response.status_code == 303
    assert session.get(f"/app/account/{record['id']}").status_code == 200
    change = [e for e in org(app).audit_log() if e["action"] == "user.update"][0]
    assert '"roles"' in change["detail"] and "editor" in change["detail"]


def test_admin_cannot_deactivate_or_demote_themselves(app, client):
    client.login()
    me = admin_id(app)
    response = client.post_form(f"/-/admin/users/{me}", {"display_name": "管理员", "locale": "en", "is_active": "1"})
    assert response.status_code == 422
    assert "yourself" in soup(response).text("#err-is_active")
    assert org(app).user(me)["is_admin"] is True


def test_reset_password(app, client):
    li = user(app, "li", "李明", roles=["rep"])
    client.login()
    short = client.post_form(f"/-/admin/users/{li}/password", {"password": "short"})
    assert short.status_code == 422
    assert "at least 8" in soup(short).text("#password-form #err-password")
    assert not soup(short).text("#user-form .alert.error")
    response = client.post_form(f"/-/admin/users/{li}/password", {"password": "a-brand-new-one"})
    assert response.status_code == 303 and response.location == f"/-/admin/users/{li}"
    assert Client(app.test_client()).login("li", PASSWORD).status_code == 401
    assert signed_in(app, "li", "a-brand-new-one").get("/").status_code == 200
    assert "user.password" in audit_actions(app)
    assert client.post_form("/-/admin/users/999/password", {"password": "a-brand-new-one"}).status_code == 404


# ------------------------------------------------------------ departments
def test_department_tree_create_edit_and_no_cycles(app, client):
    boss = user(app, "boss", "张总")
    client.login()
    response = client.post_form("/-/admin/departments/new", {"name": "销售部", "name_en": "Sales", "parent_id": "",
                                                             "manager_id": str(boss)})
    assert response.status_code == 303
    sales = next(d.id for d in org(app).departments().values() if d.name == "销售部")
    form = soup(client.get(f"/-/admin/departments/new?parent={sales}"))
    assert form["#f-parent_id option[selected]"][0]["value"] == str(sales)
    client.post_form("/-/admin/departments/new", {"name": "西区", "name_en": "West", "parent_id": str(sales)})
    west = next(d.id for d in org(app).departments().values() if d.name == "西区")
    client.post_form("/-/admin/departments/new", {"name": "服务部", "parent_id": ""})
    page = soup(client.get("/-/admin/departments"))
    tree = [(tr["data-depth"], tr.select_one("td.name").get_text(strip=True), tr.select_one("td.manager").get_text(strip=True))
            for tr in page["#departments tbody tr"]]
    assert tree == [("0", "服务部", "—"), ("0", "销售部", "张总"), ("1", "└西区", "—")]

    edit = soup(client.get(f"/-/admin/departments/{sales}"))
    assert [o["value"] for o in edit["#f-parent_id option"]] == ["", str(next(d for d in org(app).departments() if d not in (sales, west)))]
    cycle = client.post_form(f"/-/admin/departments/{sales}", {"name": "销售部", "name_en": "Sales", "parent_id": str(west),
                                                               "manager_id": str(boss)})
    assert cycle.status_code == 422
    assert "below itself" in soup(cycle).text("#err-parent_id")
    assert org(app).departments()[sales].parent_id is None
    itself = client.post_form(f"/-/admin/departments/{sales}", {"name": "销售部", "parent_id": str(sales)})
    assert itself.status_code == 422
    empty = client.post_form(f"/-/admin/departments/{west}", {"name": " ", "parent_id": str(sales)})
    assert empty.status_code == 422 and soup(empty).text("#err-name")
    renamed = client.post_form(f"/-/admin/departments/{west}", {"name": "西北区", "name_en": "North-west",
                                                                "parent_id": str(sales), "manager_id": str(boss)})
    assert renamed.status_code == 303
    dept = org(app).departments()[west]
    assert (dept.name, dept.name_en, dept.parent_id, dept.manager_id) == ("西北区", "North-west", sales, boss)
    assert audit_actions(app).count("department.update") == 1
    assert client.get("/-/admin/departments/999").status_code == 404



def test_department_code_is_optional_valid_and_unique(app, client):
    """Workflows route approvals to "the manager of department finance" by this code."""
    client.login()
    assert client.post_form("/-/admin/departments/new", {"name": "财务部", "code": "finance"}).status_code == 303
    finance = next(d for d in org(app).departments().values() if d.name == "财务部")
    assert finance.code == "finance"
    assert soup(client.get(f"/-/admin/departments/{finance.id}"))["#f-code"][0]["value"] == "finance"
    assert rows(soup(client.get("/-/admin/departments")), "#departments tbody tr")[0][2] == "finance"
    taken = client.post_form("/-/admin/departments/new", {"name": "财务二部", "code": "finance"})
    assert taken.status_code == 422 and "Another department has this code" in soup(taken).text("#err-code")
    bad = client.post_form("/-/admin/departments/new", {"name": "仓储部", "code": "Ware House"})
    assert bad.status_code == 422 and soup(bad).text("#err-code")
    assert [d.name for d in org(app).departments().values()] == ["财务部"]
    cleared = client.post_form(f"/-/admin/departments/{finance.id}", {"name": "财务部", "code": ""})
    assert cleared.status_code == 303 and org(app).departments()[finance.id].code is None

# ------------------------------------------------------------------ teams
def test_teams_with_members(app, client):
    li, wang = user(app, "li", "李明"), user(app, "wang", "王芳")
    client.login()
    response = client.post_form("/-/admin/teams/new", {"name": "West", "members": [str(li), str(wang)]})
    assert response.status_code == 303
    team = org(app).teams()[0]
    assert sorted(team["members"]) == [li, wang]
    page = soup(client.get("/-/admin/teams"))
    assert page.text(f"#teams tr[data-team='{team['id']}'] td.members") == "李明, 王芳"
    form = soup(client.get(f"/-/admin/teams/{team['id']}"))
    assert {i["value"] for i in form["#f-members input[checked]"]} == {str(li), str(wang)}
    assert client.post_form(f"/-/admin/teams/{team['id']}", {"members": [str(wang)]}).status_code == 303
    assert org(app).teams()[0]["members"] == [wang]
    assert client.post_form(f"/-/admin/teams/{team['id']}", {}).status_code == 303
    assert org(app).teams()[0]["members"] == []
    taken = client.post_form("/-/admin/teams/new", {"name": "West"})
    assert taken.status_code == 422 and "taken" in soup(taken).text("#err-name")
    stranger = client.post_form(f"/-/admin/teams/{team['id']}", {"members": ["999"]})
    assert stranger.status_code == 422 and soup(stranger).text("#err-members")
    assert audit_actions(app).count("team.members") == 2
    assert client.get("/-/admin/teams/999").status_code == 404


# --------------------------------------------------------------- transfer
def test_transfer_preview_and_result(app, client):
    leaver, heir = user(app, "leaver", "离职者", roles=["editor"]), user(app, "heir", "接手人", roles=["editor"])
    records = [account(app, leaver, name) for name in ("A", "B", "C")]
    service_of(app, leaver).create("visit", {"subject": "Call", "account": records[0]["id"]})
    kept = account(app, heir, "Theirs already")
    client.login()
    page = soup(client.get(f"/-/admin/transfer?from_user={leaver}&to_user={heir}"))
    assert rows(page, "#preview tbody tr") == [["Account", "3"], ["Visit", "1"]]
    assert page["#transfer-confirm input[name=from_user]"][0]["value"] == str(leaver)
    assert all(owner_of(app, r["id"]) == leaver for r in records)  # a preview changes nothing

    same = client.get(f"/-/admin/transfer?from_user={leaver}&to_user={leaver}")
    assert same.status_code == 422 and "different user" in soup(same).text("#err-to_user")

    response = client.post_form("/-/admin/transfer", {"from_user": str(leaver), "to_user": str(heir)})
    assert response.status_code == 200
    result = soup(response)
    assert rows(result, "#moved tbody tr") == [["Account", "3"], ["Visit", "1"]]
    assert "接手人" in result.text("#moved .alert.ok")
    assert all(owner_of(app, r["id"]) == heir for r in records) and owner_of(app, kept["id"]) == heir
    history = service_of(app, admin_id(app)).history("account", records[0]["id"])
    assert (history[0]["field"], history[0]["old_value"], history[0]["new_value"]) == ("owner", str(leaver), str(heir))
    transfer = [e for e in org(app).audit_log() if e["action"] == "transfer.all"]
    assert len(transfer) == 1 and '"account": 3' in transfer[0]["detail"]
    again = soup(client.get(f"/-/admin/transfer?from_user={leaver}&to_user={heir}"))
    assert not again["#preview tbody tr"] and "owns no records" in again.text("#preview")


def test_transfer_refuses_an_inactive_or_missing_heir(app, client):
    leaver, gone = user(app, "leaver", roles=["editor"]), user(app, "gone", roles=["editor"])
    record = account(app, leaver, "A")
    client.login()
    client.post_form(f"/-/admin/users/{gone}", {"display_name": "Gone", "locale": "en"})  # deactivated
    refused = client.post_form("/-/admin/transfer", {"from_user": str(leaver), "to_user": str(gone)})
    assert refused.status_code == 422 and soup(refused).text("#err-to_user")
    missing = client.post_form("/-/admin/transfer", {"to_user": str(admin_id(app))})
    assert missing.status_code == 422 and soup(missing).text("#err-from_user")
    assert owner_of(app, record["id"]) == leaver
    assert "transfer.all" not in audit_actions(app)


# ------------------------------------------------------------------ audit
def test_audit_log_page(app, client):
    li = user(app, "li", "李明", roles=["editor"])
    record = account(app, admin_id(app), "Alpha")
    client.login()
    client.post_form("/-/admin/departments/new", {"name": "销售部"})
    client.post_form(f"/app/account/{record['id']}/assign", {"owner": str(li)})
    page = soup(client.get("/-/admin/audit"))
    assert [th.get_text(strip=True) for th in page["#audit th"]] == ["Time", "Who", "Action", "What happened"]
    assign, create = rows(page, "#audit tbody tr")[:2]
    # a sentence with names, not the stored JSON and ids
    assert assign[1:3] == ["管理员", "Assigned"]
    assert " ".join(page["#audit tbody tr td.detail"][0].get_text().split()) == "Assigned 1 Account (Alpha) to 李明"
    assert create[1:3] == ["管理员", "Department created"] and create[3].startswith("Created department 销售部")
    assert page[f"#audit tbody tr a[href='/app/account/{record['id']}']"]
    assert page[f"#audit tbody tr a[href='/-/admin/users/{li}']"]


# ------------------------------------------------------- assign and share
def test_assign_from_the_detail_page(app, client):
    li = user(app, "li", "李明", roles=["editor"])
    gone = user(app, "gone", "Gone")
    record = account(app, admin_id(app), "Alpha")
    client.login()
    page = soup(client.get(f"/app/account/{record['id']}"))
    assert page.text("#access .owner") == "Owner: 管理员"
    choices = [o["value"] for o in page["#assign-owner option"]]
    assert str(li) in choices and str(admin_id(app)) not in choices  # the owner is not offered again
    response = client.post_form(f"/app/account/{record['id']}/assign", {"owner": str(li)})
    assert response.status_code == 303 and response.location == f"/app/account/{record['id']}"
    after = soup(client.get(response.location))
    assert "李明" in after.text(".alert.ok") and after.text("#access .owner") == "Owner: 李明"
    assert owner_of(app, record["id"]) == li
    assert "Owner" in after.text(".timeline")
    # "assign to me" posts the signed-in user
    assert after["#assign-me-form input[name=owner]"][0]["value"] == str(admin_id(app))
    client.post_form(f"/app/account/{record['id']}/assign", {"owner": str(admin_id(app))})
    assert owner_of(app, record["id"]) == admin_id(app)
    assert audit_actions(app).count("assign") == 2
    # an inactive user is refused at the form
    client.post_form(f"/-/admin/users/{gone}", {"display_name": "Gone", "locale": "en"})
    refused = client.post_form(f"/app/account/{record['id']}/assign", {"owner": str(gone)})
    assert refused.status_code == 422 and "active user" in soup(refused).text("#assign .alert.error")
    assert owner_of(app, record["id"]) == admin_id(app)


def test_assign_is_refused_without_the_permission(app):
    rep = user(app, "rep", roles=["rep"])  # rep: assign none
    record = account(app, rep, "Mine")
    session = signed_in(app, "rep")
    page = soup(session.get(f"/app/account/{record['id']}"))
    assert not page["#assign-form"] and page["#share-form"]  # rep may share their own, not assign
    assert session.post_form(f"/app/account/{record['id']}/assign", {"owner": str(admin_id(app))}).status_code == 403
    assert owner_of(app, record["id"]) == rep
    assert "assign" not in audit_actions(app)


def test_share_and_unshare_from_the_detail_page(app, client):
    dept = org(app).create_department("销售部", name_en="Sales")
    team = org(app).create_team("West")
    li = user(app, "li", "李明", roles=["rep"])
    record = account(app, admin_id(app), "Alpha")
    reader = signed_in(app, "li")
    assert reader.get(f"/app/account/{record['id']}").status_code == 404
    client.login()
    page = soup(client.get(f"/app/account/{record['id']}"))
    assert "Not shared" in page.text("#shares")
    values = [o["value"] for o in page["#share-principal option"]]
    assert {f"user:{li}", f"team:{team}", f"department:{dept}"} <= set(values)
    response = client.post_form(f"/app/account/{record['id']}/share", {"principal": f"user:{li}", "access": "read"})
    assert response.status_code == 303
    page = soup(client.get(f"/app/account/{record['id']}"))
    share_rows = rows(page, "#shares table.shares tbody tr")
    assert len(share_rows) == 1
    assert share_rows[0][:3] == ["User · 李明", "Read only", "管理员"]
    assert reader.get(f"/app/account/{record['id']}").status_code == 200
    client.post_form(f"/app/account/{record['id']}/share", {"principal": f"department:{dept}", "access": "write"})
    page = soup(client.get(f"/app/account/{record['id']}"))
    assert [r[:2] for r in rows(page, "#shares table.shares tbody tr")] == [["User · 李明", "Read only"], ["Department · Sales", "Read and write"]]

    share_id = page["#shares tr[data-share]"][0]["data-share"]
    revoke = page["#shares tr[data-share] form"][0]["action"]
    assert revoke == f"/app/account/{record['id']}/unshare/{share_id}"
    assert client.post_form(revoke).status_code == 303
    assert reader.get(f"/app/account/{record['id']}").status_code == 404  # revoked at once
    assert [a for a in audit_actions(app) if a in ("share", "unshare")] == ["unshare", "share", "share"]

    bad = client.post_form(f"/app/account/{record['id']}/share", {"principal": "user:999", "access": "read"})
    assert bad.status_code == 422 and soup(bad).text("#shares .alert.error")
    nonsense = client.post_form(f"/app/account/{record['id']}/share", {"principal": "robot:x", "access": "all"})
    assert nonsense.status_code == 422


def test_sharing_needs_the_share_permission(app):
    owner = user(app, "owner", roles=["editor"])
    viewer = user(app, "viewer", "Viewer", roles=["viewer"])  # may read a shared account, never share
    record = account(app, owner, "Alpha")
    share_id = service_of(app, owner).ownership.share("account", record["id"], "user", viewer, "read")
    session = signed_in(app, "viewer")
    page = soup(session.get(f"/app/account/{record['id']}"))
    assert page["h1"] and not page["#access"]  # no owner-and-sharing card for them
    before = (service_of(app, owner).ownership.shares("account", record["id"]), audit_actions(app))
    share = session.post_form(f"/app/account/{record['id']}/share", {"principal": f"user:{owner}", "access": "read"})
    assert share.status_code == 403
    unshare = session.post_form(f"/app/account/{record['id']}/unshare/{share_id}")
    assert unshare.status_code == 403
    assert (service_of(app, owner).ownership.shares("account", record["id"]), audit_actions(app)) == before
    # one cannot share what one cannot see: the same answer as a missing record
    hidden = account(app, owner, "Beta")
    assert session.post_form(f"/app/account/{hidden['id']}/share", {"principal": f"user:{viewer}", "access": "read"}).status_code == 404


def test_write_is_offered_only_to_those_who_may_write(app):
    rep = user(app, "rep", roles=["rep"])
    own = account(app, rep, "Mine")
    page = soup(signed_in(app, "rep").get(f"/app/account/{own['id']}"))
    assert [o["value"] for o in page["#share-form select[name=access] option"]] == ["read", "write"]


# ------------------------------------------------------------------ explain
def test_explain_for_owner_manager_and_outsider(app, client):
    o = org(app)
    sales = o.create_department("销售部", name_en="Sales")
    west = o.create_department("西区", name_en="West", parent_id=sales)
    boss = user(app, "boss", "张总", roles=["manager"], department_id=sales)
    o.update_department(sales, name="销售部", name_en="Sales", parent_id=None, manager_id=boss)
    rep = user(app, "rep", "李明", roles=["rep"], department_id=west)
    outsider = user(app, "out", "外人", roles=["rep"])
    record = account(app, rep, "Alpha")
    client.login()
    detail = soup(client.get(f"/app/account/{record['id']}"))
    assert {o["value"] for o in detail["#explain-form select option"]} >= {str(rep), str(boss), str(outsider)}
    assert detail["#explain-form"][0]["hx-target"] == "#explain-result"

    def explain(user_id):
        page = soup(client.get(f"/app/account/{record['id']}/explain?user={user_id}"))
        return {tr["data-action"]: (tr.select_one(".verdict").get_text(strip=True), tr.select_one(".reason").get_text(strip=True))
                for tr in page["#explain-result tbody tr"]}

    owner = explain(rep)
    assert owner["read"][0] == "Yes" and "they own it" in owner["read"][1]
    assert owner["assign"][0] == "No"
    manager = explain(boss)
    assert manager["read"][0] == "Yes" and "department or below" in manager["read"][1]
    assert manager["delete"][0] == "No"  # delete reaches only the manager's own department
    stranger = explain(outsider)
    assert all(verdict == "No" for verdict, _reason in stranger.values())
    assert "outside" in stranger["read"][1]
    partial = client.get(f"/app/account/{record['id']}/explain?user={rep}", headers={"HX-Request": "true"})
    assert not soup(partial)["html"] and soup(partial)["#explain-result tbody tr"]
    assert "HX-Request" in partial.headers["Vary"]
    assert client.get(f"/app/account/{record['id']}/explain?user=999").status_code == 404
    # the others may not ask
    assert signed_in(app, "boss").get(f"/app/account/{record['id']}/explain?user={rep}").status_code == 403
    assert not soup(signed_in(app, "boss").get(f"/app/account/{record['id']}"))["#explain-form"]


# -------------------------------------------------------------- bulk assign
def test_bulk_assign_is_all_or_nothing(app):
    o = org(app)
    sales = o.create_department("销售部")
    boss = user(app, "boss", "张总", roles=["manager"], department_id=sales)
    rep = user(app, "rep", "李明", roles=["rep"], department_id=sales)
    outsider = user(app, "out", "外人", roles=["editor"])
    a, b = account(app, rep, "A"), account(app, rep, "B")
    foreign = account(app, outsider, "Foreign")
    service_of(app, outsider).ownership.share("account", foreign["id"], "user", boss, "read")  # readable, not assignable
    session = signed_in(app, "boss")
    page = soup(session.get("/app/account/?q=o"))
    form = page["#bulk-assign"][0]
    assert form["action"] == "/app/account/-/assign?q=o"
    assert [i["value"] for i in page["#list tbody input[name=ids]"]] == [str(foreign["id"])]
    assert all(i["form"] == "bulk-assign" for i in page["#list tbody input[name=ids]"])

    refused = session.post_form("/app/account/-/assign", {"ids": [str(a["id"]), str(foreign["id"])], "owner": str(boss)})
    assert refused.status_code == 403
    page = soup(refused)
    assert "nothing was changed" in page.text("#bulk-error")
    assert {i["value"] for i in page["#list tbody input[name=ids][checked]"]} == {str(a["id"]), str(foreign["id"])}
    assert (owner_of(app, a["id"]), owner_of(app, foreign["id"])) == (rep, outsider)

    hidden = account(app, outsider, "Hidden")
    assert session.post_form("/app/account/-/assign", {"ids": [str(a["id"]), str(hidden["id"])], "owner": str(boss)}).status_code == 404
    nothing = session.post_form("/app/account/-/assign", {"owner": str(boss)})
    assert nothing.status_code == 422 and "Tick the records" in soup(nothing).text("#bulk-error")
    assert "assign" not in audit_actions(app)

    done = session.post_form("/app/account/-/assign?q=A", {"ids": [str(a["id"]), str(b["id"])], "owner": str(boss)})
    assert done.status_code == 303 and done.location == "/app/account/?q=A"
    assert "2 records assigned to 张总" in soup(session.get(done.location)).text(".alert.ok")
    assert owner_of(app, a["id"]) == owner_of(app, b["id"]) == boss
    assert audit_actions(app).count("assign") == 1


def test_list_has_no_bulk_assign_without_the_permission(app):
    rep = user(app, "rep", roles=["rep"])
    account(app, rep, "Mine")
    page = soup(signed_in(app, "rep").get("/app/account/"))
    assert page["#list tbody tr"] and not page["#bulk-assign"] and not page["#list input[name=ids]"]


# ------------------------------------------------------------------ my team
@pytest.fixture
def team_site(real_app):
    """A sales department with its manager, two reps and a rep elsewhere, and their records."""
    app = real_app
    o = org(app)
    sales = o.create_department("销售部", name_en="Sales")
    west = o.create_department("西区", name_en="West", parent_id=sales)
    elsewhere = o.create_department("服务部", name_en="Service")
    boss = user(app, "boss", "张总", roles=["sales_manager"], department_id=sales)
    o.update_department(sales, name="销售部", name_en="Sales", parent_id=None, manager_id=boss)
    li = user(app, "li", "李明", roles=["sales_rep"], department_id=west)
    wang = user(app, "wang", "王芳", roles=["sales_rep"], department_id=sales)
    far = user(app, "far", "远人", roles=["sales_rep"], department_id=elsewhere)
    today = dt.date.today()
    for uid, n_customers, stages, activity_days in ((li, 2, ["initial_contact", "proposal", "won", "lost"], [0, 3, 13, 20]),
                                                    (wang, 1, ["negotiation"], [-2, 30]),
                                                    (far, 3, ["proposal"], [1])):
        svc = service_of(app, uid)
        customers = [svc.create("customer", {"name": f"{uid}-customer-{i}"}) for i in range(n_customers)]
        for stage in stages:
            svc.create("opportunity", {"name": f"{uid}-{stage}", "customer": customers[0]["id"], "stage": stage,
                                       "amount": "100", "expected_close": today.isoformat(),
                                       "lost_reason": "price" if stage == "lost" else None})
        for days in activity_days:
            when = dt.datetime.combine(today - dt.timedelta(days=days), dt.time(10, 0))
            svc.create("activity", {"subject": f"call {days}", "due_at": when.isoformat(timespec="minutes")})
    return app, {"boss": boss, "li": li, "wang": wang, "far": far}


def test_my_team_counts_through_the_managers_permissions(team_site):
    app, ids = team_site
    boss = signed_in(app, "boss")
    home = soup(boss.get("/"))
    assert home["nav.own a[href='/-/team']"]
    page = soup(boss.get("/-/team"))
    assert [th.get_text(strip=True) for th in page["#team th"]] == [
        "Name", "Department", "Open opportunities", "Activities in the last 14 days", "Customers"]
    table = {tr.select_one("td.name").get_text(strip=True): [td.get_text(strip=True) for td in tr.select("td")][1:]
             for tr in page["#team tbody tr"]}
    assert table == {"李明": ["West", "2", "3", "2"], "王芳": ["Sales", "1", "0", "1"]}  # not 远人, not the manager
    link = page[f"#team tr[data-user='{ids['li']}'] td[data-entity=opportunity] a"][0]["href"]
    assert link.startswith("/app/opportunity/?") and f"f.owner.eq={ids['li']}" in link
    listed = soup(boss.get(link))
    assert len(listed["#list tbody tr"]) == 2  # the list behind the number shows the same records
    activities = page[f"#team tr[data-user='{ids['li']}'] td[data-entity=activity] a"][0]["href"]
    assert len(soup(boss.get(activities))["#list tbody tr"]) == 3
    customers = page[f"#team tr[data-user='{ids['wang']}'] td[data-entity=customer] a"][0]["href"]
    assert customers == f"/app/customer/?f.owner.eq={ids['wang']}"


def test_my_team_in_chinese_and_for_non_managers(team_site):
    app, ids = team_site
    boss = signed_in(app, "boss")
    boss.post_form("/-/lang", {"lang": "zh", "next": "/"})
    page = soup(boss.get("/-/team"))
    assert page.text("h1").startswith("我的团队")
    assert sorted(td.get_text(strip=True) for td in page["#team td.department"]) == ["西区", "销售部"]
    rep = signed_in(app, "li")
    assert not soup(rep.get("/"))["nav.own a[href='/-/team']"]
    alone = soup(rep.get("/-/team"))
    assert not alone["#team"] and alone.text(".empty")


def test_my_team_counts_only_what_the_manager_may_read(team_site):
    app, ids = team_site
    o = org(app)

    def counts(roles):
        o.update_user(ids["boss"], display_name="张总", department_id=o.user(ids["boss"])["department_id"], roles=roles,
                      teams=[], is_active=True, is_admin=False)
        page = soup(signed_in(app, "boss").get("/-/team"))
        row = page[f"#team tr[data-user='{ids['li']}']"][0]
        return [row.select_one(f"td[data-entity={name}]").get_text(strip=True) for name in ("opportunity", "activity", "customer")]

    assert counts(["marketing"]) == ["2", "0", "2"]  # reads every opportunity and customer, only their own activities
    assert counts(["product_maintainer"]) == ["—", "—", "—"]  # reads none of them: a dash, not a zero
