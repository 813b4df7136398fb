"""The workbench (the landing page): my schedule, reminders, notifications, approvals, my
pipeline, recent and favourite records, the counts it polls, and the favourite star."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from kehu.org import OrgService
from kehu_testing import Client, soup

PASSWORD = "secret-pw"


def site_of(app):
    return app.extensions["kehu"]


def user(app, username, name=None, roles=("sales_rep",), department_id=None, locale="en") -> int:
    return site_of(app).create_user(username, PASSWORD, name or username.title(), roles=list(roles),
                                    department_id=department_id, locale=locale)


def svc(app, user_id, lang="en"):
    site = site_of(app)
    return site.records(site.actor(site.user(user_id)), lang)


def admin(app):
    site = site_of(app)
    return svc(app, site.authenticate("admin", PASSWORD)["id"])


def signed_in(app, username, lang="en") -> Client:
    client = Client(app.test_client())
    client.login(username, PASSWORD, lang=lang)
    return client


def at(days=0, hour=None, minute=0) -> str:
    """A local time ``days`` from now (at ``hour`` if given), as a form sends it."""
    moment = dt.datetime.now().replace(second=0, microsecond=0) + dt.timedelta(days=days)
    if hour is not None:
        moment = moment.replace(hour=hour, minute=minute)
    return moment.isoformat(timespec="minutes")


def activity(app, user_id, subject, due, status="not_started", **extra) -> int:
    data = {"subject": subject, "type": "task", "status": status, "due_at": due}
    data.update(extra)
    return svc(app, user_id).create("activity", data)["id"]


def customer(app, user_id, name) -> int:
    return svc(app, user_id).create("customer", {"name": name, "category": "prospect"})["id"]


def opportunity(app, user_id, name, customer_id, stage="initial_contact") -> int:
    data = {"name": name, "customer": customer_id, "stage": stage, "amount": "10000",
            "expected_close": dt.date.today().isoformat()}
    if stage == "lost":
        data["lost_reason"] = "Price"
    return svc(app, user_id).create("opportunity", data)["id"]


def titles(page, section) -> list[str]:
    return [a.get_text(strip=True) for a in page[f"#{section} li .wb-main > a"]]


def notify(app, user_id, text, entity=None, record_id=None, kind="approved") -> int:
    site = site_of(app)
    n = site.tables.notification
    with site.engine.begin() as conn:
        return conn.execute(sa.insert(n).values(
            user_id=user_id, at=dt.datetime.now().replace(microsecond=0), kind=kind, text_en=text,
            text_zh=f"中文：{text}", entity=entity, record_id=record_id).returning(n.c.id)).scalar_one()


def favourite_rows(app, user_id) -> list[tuple[str, int]]:
    site = site_of(app)
    fav = site.tables.favourite
    with site.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(fav.c.entity, fav.c.record_id).where(fav.c.user_id == user_id))]


# ------------------------------------------------------------------ schedule
def test_schedule_shows_my_open_activities_due_today_or_earlier_and_flags_overdue(real_app):
    me, colleague = user(real_app, "zhao"), user(real_app, "qian")
    activity(real_app, me, "Call back Huawei", at(-1), assigned_to=me)
    activity(real_app, me, "Visit Lenovo tonight", at(0, hour=23, minute=59), assigned_to=me)
    activity(real_app, me, "Unassigned follow-up", at(-2))  # owned by me, assigned to nobody
    activity(real_app, me, "Done already", at(-1), status="completed", assigned_to=me)
    activity(real_app, me, "Called off", at(-1), status="cancelled", assigned_to=me)
    activity(real_app, me, "Next week", at(6), assigned_to=me)
    activity(real_app, me, "Handed to colleague", at(-1), assigned_to=colleague)  # mine, but assigned to them
    activity(real_app, colleague, "Colleague's call", at(-1), assigned_to=colleague)

    page = soup(signed_in(real_app, "zhao").get("/"))
    # today's first, then what is still open from earlier days, the latest first
    assert titles(page, "wb-schedule") == ["Visit Lenovo tonight", "Call back Huawei", "Unassigned follow-up"]
    overdue = [li.select_one(".wb-main > a").get_text(strip=True) for li in page["#wb-schedule li.overdue"]]
    assert overdue == ["Call back Huawei", "Unassigned follow-up"]
    assert page.text("#wb-schedule h2 .count") == "3"
    assert page.text("#wb-count-overdue") == "2"

    # a sales rep reads only activities they own: the one handed to them stays with its owner
    assert titles(soup(signed_in(real_app, "qian").get("/")), "wb-schedule") == ["Colleague's call"]


def test_upcoming_reminders_are_the_next_seven_days(real_app):
    me = user(real_app, "zhao")
    activity(real_app, me, "Quarterly review", at(3), assigned_to=me, reminder_at=at(2))
    activity(real_app, me, "Far away", at(12), assigned_to=me, reminder_at=at(10))
    activity(real_app, me, "Reminded yesterday", at(3), assigned_to=me, reminder_at=at(-1))
    activity(real_app, me, "Finished", at(3), status="completed", assigned_to=me, reminder_at=at(1))

    page = soup(signed_in(real_app, "zhao").get("/"))
    assert titles(page, "wb-reminders") == ["Quarterly review"]
    assert "Quarterly review" not in titles(page, "wb-schedule")  # due in three days


# ------------------------------------------------------------- notifications
def test_notification_links_to_its_record_and_mark_read_removes_it(real_app):
    me, colleague = user(real_app, "zhao"), user(real_app, "qian")
    cid = customer(real_app, me, "华为")
    first = notify(real_app, me, "Approved: Quote Q-1", "customer", cid)
    notify(real_app, me, "Rejected: Quote Q-2", kind="rejected")
    theirs = notify(real_app, colleague, "Not for zhao")
    client = signed_in(real_app, "zhao")

    page = soup(client.get("/"))
    notes = page["#wb-notifications li"]
    assert [li.select_one(".wb-main").get_text(strip=True) for li in notes] == ["Rejected: Quote Q-2", "Approved: Quote Q-1"]
    assert page["#wb-notifications li a[href]"][0]["href"] == f"/app/customer/{cid}"
    assert page.text("#wb-count-unread") == "2"
    assert "Not for zhao" not in page.text("#wb-notifications")

    swapped = client.post_form(f"/-/notifications/{first}/read", htmx=True)
    assert swapped.status_code == 200
    card = soup(swapped)
    assert str(first) not in [li["data-notification"] for li in card["#wb-notifications li"]]
    assert card["#wb-count-unread"][0]["hx-swap-oob"] == "true" and card.text("#wb-count-unread") == "1"
    assert "Approved: Quote Q-1" not in soup(client.get("/")).text("#wb-notifications")

    assert client.post_form(f"/-/notifications/{theirs}/read").status_code == 404  # not mine: not found
    assert client.post_form("/-/notifications/read-all").status_code == 302
    page = soup(client.get("/"))
    assert page["#wb-notifications li"] == [] and page.text("#wb-count-unread") == "0"
    # the colleague's notification was left alone
    assert "Not for zhao" in soup(signed_in(real_app, "qian").get("/")).text("#wb-notifications")


def test_mark_read_needs_a_csrf_token(real_app):
    me = user(real_app, "zhao")
    nid = notify(real_app, me, "Something happened")
    client = signed_in(real_app, "zhao")
    assert client.c.post(f"/-/notifications/{nid}/read").status_code == 400
    assert "Something happened" in soup(client.get("/")).text("#wb-notifications")


# ---------------------------------------------------------------- favourites
def test_favourite_toggle_adds_and_removes(real_app):
    me = user(real_app, "zhao")
    cid = customer(real_app, me, "联想")
    client = signed_in(real_app, "zhao")

    response = client.post_form(f"/-/favourites/customer/{cid}")
    assert response.status_code == 302 and response.location == f"/app/customer/{cid}"
    assert favourite_rows(real_app, me) == [("customer", cid)]
    assert titles(soup(client.get("/")), "wb-favourites") == ["联想"]

    star = soup(client.post_form(f"/-/favourites/customer/{cid}", {"on": "1"}, htmx=True))  # already on: stays on
    assert star["form#favourite button.star.on"] and favourite_rows(real_app, me) == [("customer", cid)]
    star = soup(client.post_form(f"/-/favourites/customer/{cid}", htmx=True))  # toggle: off
    assert star["form#favourite button.star"] and not star["form#favourite button.star.on"]
    assert star["form#favourite input[name=on]"][0]["value"] == "1"
    assert favourite_rows(real_app, me) == []
    assert titles(soup(client.get("/")), "wb-favourites") == []


def test_detail_page_shows_the_star(real_app):
    me = user(real_app, "zhao")
    cid = customer(real_app, me, "联想")
    client = signed_in(real_app, "zhao")
    page = soup(client.get(f"/app/customer/{cid}"))
    assert page["h1 form#favourite button.star"] and not page["h1 form#favourite button.star.on"]
    client.post_form(f"/-/favourites/customer/{cid}")
    assert soup(client.get(f"/app/customer/{cid}"))["h1 form#favourite button.star.on"]


def test_a_record_one_cannot_see_cannot_be_favourited(real_app):
    me, colleague = user(real_app, "zhao"), user(real_app, "qian")
    theirs = customer(real_app, colleague, "别人的客户")
    client = signed_in(real_app, "zhao")
    assert client.post_form(f"/-/favourites/customer/{theirs}").status_code == 404
    assert client.post_form("/-/favourites/customer/999999").status_code == 404
    assert client.post_form("/-/favourites/no_such_entity/1").status_code == 404
    assert favourite_rows(real_app, me) == []


def test_a_favourite_that_became_invisible_is_no_longer_listed(real_app):
    me, colleague = user(real_app, "zhao"), user(real_app, "qian")
    kept, moved = customer(real_app, me, "留下的客户"), customer(real_app, me, "转走的客户")
    client = signed_in(real_app, "zhao")
    client.post_form(f"/-/favourites/customer/{kept}")
    client.post_form(f"/-/favourites/customer/{moved}")
    assert sorted(titles(soup(client.get("/")), "wb-favourites")) == sorted(["留下的客户", "转走的客户"])

    admin(real_app).ownership.assign("customer", [moved], colleague)  # a sales rep reads only their own
    page = soup(client.get("/"))
    assert titles(page, "wb-favourites") == ["留下的客户"]
    assert "转走的客户" not in page.text("main")


# ---------------------------------------------------------- recent customers
def test_recent_customers_are_the_ones_i_changed(real_app):
    me, colleague = user(real_app, "zhao"), user(real_app, "qian")
    a, b = customer(real_app, me, "甲公司"), customer(real_app, me, "乙公司")
    customer(real_app, colleague, "丙公司")
    mine = svc(real_app, me)
    mine.update("customer", a, {"phone": "010-12345678"}, mine.get("customer", a)["row_version"])
    admin(real_app).update("customer", b, {"phone": "010-87654321"}, mine.get("customer", b)["row_version"])

    page = soup(signed_in(real_app, "zhao").get("/"))
    recent = titles(page, "wb-recent")
    assert sorted(recent) == ["乙公司", "甲公司"]  # each once, though changed twice
    assert "丙公司" not in recent
    assert "丙公司" not in titles(page, "wb-favourites")
    theirs = titles(soup(signed_in(real_app, "qian").get("/")), "wb-recent")
    assert theirs == ["丙公司"]


# --------------------------------------------------------------- my pipeline
def test_open_opportunities_exclude_won_lost_and_other_peoples(real_app):
    me, colleague = user(real_app, "zhao"), user(real_app, "qian")
    mine, theirs = customer(real_app, me, "甲公司"), customer(real_app, colleague, "丙公司")
    opportunity(real_app, me, "Open deal", mine, "proposal")
    opportunity(real_app, me, "Won deal", mine, "won")
    opportunity(real_app, me, "Lost deal", mine, "lost")
    opportunity(real_app, colleague, "Their deal", theirs, "proposal")

    page = soup(signed_in(real_app, "zhao").get("/"))
    assert titles(page, "wb-opportunities") == ["Open deal"]
    assert page.text("#wb-opportunities h2 .count") == "1"
    link = page["#wb-opportunities .wb-links a"][0]["href"]
    listed = soup(signed_in(real_app, "zhao").get(link))
    assert [tr.get_text(" ", strip=True) for tr in listed["#list tbody tr"]][0].count("Open deal") == 1
    assert len(listed["#list tbody tr"]) == 1


def test_open_service_requests_i_own_or_handle(real_app):
    rep, engineer = user(real_app, "zhao"), user(real_app, "sun", roles=("service_manager",))  # reads every request
    cid = customer(real_app, rep, "甲公司")
    boss = admin(real_app)

    def request(subject, status="new", engineer_id=None, owner=None):
        data = {"subject": subject, "customer": cid, "priority": "normal", "status": status, "engineer": engineer_id,
                "description": "坏了"}
        if status in ("resolved", "closed"):
            data["resolved_at"] = at(0)
        rid = boss.create("service_request", data)["id"]
        if owner:
            boss.ownership.assign("service_request", [rid], owner)
        return rid

    request("Printer jam", engineer_id=engineer)
    request("Screen broken", owner=engineer)
    request("Fixed already", status="resolved", engineer_id=engineer)
    request("Closed one", status="closed", owner=engineer)
    request("Someone else's", owner=rep)
    request("Another engineer's", engineer_id=rep)

    page = soup(signed_in(real_app, "sun").get("/"))
    assert sorted(titles(page, "wb-service-requests")) == ["Printer jam", "Screen broken"]
    assert page.text("#wb-service-requests h2 .count") == "2"


# --------------------------------------------------------------- approvals
def test_approvals_waiting_show_on_the_workbench_and_in_the_top_bar(real_app):
    boss = admin(real_app)
    org = OrgService(site_of(real_app), boss.actor, "en")
    manager = user(real_app, "li", roles=("sales_manager",))
    dept = org.create_department("销售一部", name_en="Sales 1", manager_id=manager)
    rep = user(real_app, "zhao", department_id=dept)
    with site_of(real_app).engine.begin() as conn:
        users = site_of(real_app).tables.users
        conn.execute(sa.update(users).where(users.c.id == manager).values(department_id=dept))
    cid = customer(real_app, rep, "甲公司")
    quote = svc(real_app, rep).create("quote", {"subject": "Big discount", "customer": cid,
                                                 "quote_date": dt.date.today().isoformat(), "discount_percent": "15"})
    svc(real_app, rep).approvals.submit("quote", quote["id"])

    client = signed_in(real_app, "li")
    page = soup(client.get("/"))
    assert page.text("#wb-count-approvals") == "1"
    assert page.text("#approvals-badge") == "1" and not page["#approvals-badge"][0].has_attr("hidden")
    links = page["#wb-approvals li .wb-main > a"]
    assert [a.get_text(strip=True) for a in links] == ["Big discount"]
    assert links[0]["href"] == f"/app/quote/{quote['id']}"
    assert page["#wb-approvals .wb-links a"][0]["href"] == "/-/approvals"
    assert page["a[href='/-/team']"]  # a manager gets the "My team" link

    other = soup(signed_in(real_app, "zhao").get("/"))
    assert other.text("#wb-count-approvals") == "0" and other["#approvals-badge"][0].has_attr("hidden")
    assert not other[".wb-head a[href='/-/team']"]


# ------------------------------------------------------------------ counts
def test_counts_endpoint_returns_the_numbers_as_out_of_band_swaps(real_app):
    me = user(real_app, "zhao")
    activity(real_app, me, "Late", at(-1), assigned_to=me)
    activity(real_app, me, "Later", at(-3), assigned_to=me)
    notify(real_app, me, "One")
    client = signed_in(real_app, "zhao")
    page = soup(client.get("/"))
    poll = page["[hx-get='/-/workbench/counts']"][0]
    assert poll["hx-trigger"] == "every 60s"

    response = client.get("/-/workbench/counts", headers={"HX-Request": "true"})
    assert response.status_code == 200
    counts = soup(response)
    values = {el["id"]: el.get_text(strip=True) for el in counts["[hx-swap-oob]"] if el.name != "section"}
    assert values == {"wb-count-overdue": "2", "wb-count-approvals": "0", "wb-count-unread": "1", "approvals-badge": "0"}
    assert counts["section#wb-notifications[hx-swap-oob]"]  # new notifications show up without a reload
    assert counts.text("#wb-notifications li .wb-main") == "One"
    activity(real_app, me, "Even later", at(-5), assigned_to=me)
    assert soup(client.get("/-/workbench/counts")).text("#wb-count-overdue") == "3"


def test_workbench_needs_sign_in(real_app):
    client = Client(real_app.test_client())
    assert client.get("/").status_code == 302
    assert client.get("/-/workbench/counts", headers={"HX-Request": "true"}).status_code == 401


# ------------------------------------------------------------------ languages
@pytest.mark.parametrize("lang, heading, overdue", [("en", "My schedule", "Overdue"), ("zh", "我的日程", "已逾期")])
def test_workbench_renders_in_both_languages(real_app, lang, heading, overdue):
    me = user(real_app, "zhao", locale=lang)
    activity(real_app, me, "Late call", at(-1), assigned_to=me)
    notify(real_app, me, "Approved: Quote Q-1")
    client = signed_in(real_app, "zhao", lang=None)  # the user's own locale
    page = soup(client.get("/"))
    assert page.doc.html["lang"] == ("en" if lang == "en" else "zh-CN")
    assert heading in page.text("#wb-schedule h2")
    assert page.text("#wb-schedule li.overdue .wb-tag") == overdue
    expected = "Approved: Quote Q-1" if lang == "en" else "中文：Approved: Quote Q-1"
    assert page.text("#wb-notifications li .wb-main") == expected
    client.post_form("/-/lang", {"lang": "zh" if lang == "en" else "en", "next": "/"})
    switched = soup(client.get("/"))
    assert ("我的日程" if lang == "en" else "My schedule") in switched.text("#wb-schedule h2")


def test_workbench_over_a_pack_without_crm_entities(client):
    """The fixture pack has no activities, opportunities or customers: those sections are left out."""
    client.login()
    page = soup(client.get("/"))
    assert page["#wb-notifications"] and page["#wb-approvals"] and page["#wb-favourites"]
    assert not page["#wb-schedule"] and not page["#wb-opportunities"] and not page["#wb-recent"]
    assert [a.get_text(strip=True) for a in page[".wb-modules a"]] == ["Account", "Visit"]
