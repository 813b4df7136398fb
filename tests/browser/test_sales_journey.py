"""The sales rep's chain on the demo data, in a real browser, as 赵磊 (zhaolei): an open lead
is converted into a customer, a contact and an opportunity; the opportunity's quote gets a
line whose price is filled by picking the product; the accepted quote becomes an order with
the same lines; once signed off and delivered, one line of it is returned.

Screenshots of every step are saved under the test's output folder."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import threading

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from kehu import create_app
from kehu.demo import DEMO_PASSWORD, load_demo
from kehu.metadata.loader import base_pack_path, discover_packs
from kehu.site import Site
from kehu_testing import browser_sign_in


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """The demo data (a small scale) loaded once for the module into a SQLite file."""
    folder = tmp_path_factory.mktemp("sales-demo")
    site = Site(f"sqlite:///{folder}/demo.db", discover_packs(base_pack_path(), base_pack_path() / "plugins"), folder)
    site.migrate()
    load_demo(site, scale=0.1)
    site.engine.dispose()
    return folder / "demo.db"


@pytest.fixture
def demo_server(demo_db, tmp_path):
    """A copy of the demo database served on a free local port."""
    shutil.copy(demo_db, tmp_path / "demo.db")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/demo.db", "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SECRET_KEY": "browser-test"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app.extensions["kehu"]
    server.shutdown()
    thread.join(timeout=5)
    app.extensions["kehu"].engine.dispose()


def _open_lead(site, username: str) -> dict:
    t, users = site.tables["lead"], site.tables.users
    with site.reading() as c:
        uid = c.execute(sa.select(users.c.id).where(users.c.username == username)).scalar_one()
        row = c.execute(sa.select(t.c.id, t.c.code, t.c.company_name).where(
            t.c.owner == uid, t.c.status.in_(("new", "contacted", "qualified")), t.c.deleted_at.is_(None))
            .order_by(t.c.id).limit(1)).mappings().one()
    return dict(row)


def _product(site) -> dict:
    t = site.tables["product"]
    with site.reading() as c:
        return dict(c.execute(sa.select(t.c.id, t.c.name, t.c.list_price).where(t.c.list_price > 1000)
                              .order_by(t.c.id).limit(1)).mappings().one())


def _sign_off(site, order_id: int) -> None:
    """Finance, the warehouse and commerce sign the order off (their work, not the rep's)."""
    admin = site.records(site.actor(site.authenticate("admin", DEMO_PASSWORD)))
    current = admin.approvals.current("sales_order", order_id)
    for task in current["tasks"]:
        if task.state == "pending":
            approver = site.records(site.actor(site.user(task.assignee_id)))
            approver.approvals.approve(task.id, "同意。")


def test_a_rep_takes_a_lead_to_an_order_and_returns_a_line(page: Page, demo_server, output_path):
    base, site = demo_server
    page.set_viewport_size({"width": 1280, "height": 900})
    lead = _open_lead(site, "zhaolei")
    product = _product(site)
    shot = iter(range(1, 100))

    def snap(name: str) -> None:
        page.screenshot(path=f"{output_path}/chain-{next(shot):02d}-{name}.png", full_page=True)

    browser_sign_in(page, base, "zhaolei", DEMO_PASSWORD)
    page.goto(base + "/app/lead/?q=" + lead["code"])
    page.get_by_role("link", name=lead["code"]).click()
    expect(page.locator("h1")).to_contain_text(lead["company_name"])
    snap("lead")

    # convert: a new customer, contact and opportunity
    page.locator(".title-row .actions").get_by_role("link", name="转化").click()
    expect(page.locator("h1")).to_contain_text("转化线索")
    expect(page.locator("[name=customer-name]")).to_have_value(lead["company_name"])
    expect(page.locator("[data-when='customer_mode=existing']")).to_be_hidden()
    page.fill("[name=opportunity-name]", f"{lead['company_name']}机房升级")
    snap("convert")
    page.locator("#convert-form").get_by_role("button", name="转化", exact=True).click()
    expect(page.locator(".flashes")).to_contain_text("线索已转化")
    expect(page.locator("[data-field=status] dd")).to_have_text("已转化")
    expect(page.locator(".title-row .actions").get_by_role("link", name="转化")).to_have_count(0)
    snap("lead-converted")

    # the opportunity it became: "Create quote" opens a quote filled with its customer and contact
    page.locator("[data-field=converted_opportunity] dd a").click()
    expect(page.locator("h1")).to_contain_text("机房升级")
    page.get_by_role("link", name="创建报价").click()
    expect(page.locator("[name=customer__search]")).to_have_value(lead["company_name"])
    expect(page.locator("[name=subject]")).to_have_value(f"{lead['company_name']}机房升级")

    # a line: picking the product fills its list price
    page.get_by_role("button", name="+ 添加行").click()
    page.locator("[name=lines-0-product__search]").fill(product["name"][:6])
    page.locator(".lookup-results [data-pick]").filter(has_text=product["name"]).first.click()
    expect(page.locator("[name=lines-0-unit_price]")).to_have_value(f"{product['list_price']:.2f}")
    expect(page.locator("[name=lines-0-unit]")).not_to_have_value("")
    page.fill("[name=lines-0-quantity]", "3")
    page.locator("[name=lines-0-quantity]").dispatch_event("change")
    expect(page.locator("#calc-lines-0-amount")).to_contain_text(f"{product['list_price'] * 3:,.2f}")
    page.select_option("#f-status", "accepted")
    snap("quote-form")
    page.click("button[value=save_close]")
    expect(page.locator("[data-field=status] dd")).to_have_text("客户已接受")
    snap("quote")

    # "Create order" copies the quote's customer, contact and lines
    page.get_by_role("link", name="生成订单").click()
    expect(page.locator("[name=lines-0-product__search]")).to_have_value(product["name"])
    expect(page.locator("[name=lines-0-quantity]")).to_have_value("3.00")
    expect(page.locator("[name=lines-0-unit_price]")).to_have_value(f"{product['list_price']:.2f}")
    snap("order-form")
    page.click("button[value=save_close]")
    expect(page.locator("[data-field=status] dd")).to_have_text("草稿")
    order_id = int(re.search(r"/app/sales_order/(\d+)$", page.url).group(1))

    # the rep submits it for sign-off; finance, warehouse and commerce approve
    page.locator("form.submit-approval").get_by_role("button", name="提交审批").click()
    expect(page.locator(".flashes")).to_contain_text("已提交审批")
    _sign_off(site, order_id)
    page.reload()
    expect(page.locator("[data-field=status] dd")).to_have_text("已确认")
    expect(page.locator("[data-field=confirmed_on] dd")).to_have_text(dt.date.today().isoformat())

    # delivered: the date of the step is stamped
    page.get_by_role("link", name="编辑").click()
    page.select_option("#f-status", "delivered")
    page.click("button[value=save_close]")
    expect(page.locator("[data-field=status] dd")).to_have_text("已签收")
    expect(page.locator("[data-field=delivered_on] dd")).to_have_text(dt.date.today().isoformat())
    snap("order-delivered")

    # "Create return": the order's lines; return one of the three
    page.get_by_role("link", name="创建退货单").click()
    expect(page.locator("[name=lines-0-product__search]")).to_have_value(product["name"])
    page.fill("[name=lines-0-quantity]", "1")
    page.select_option("#f-reason", "quality_issue")
    snap("return-form")
    page.click("button[value=save_close]")
    expect(page.locator("h1")).to_contain_text("退货单")
    expect(page.locator("[data-field=sales_order] dd")).to_contain_text("机房升级")
    expect(page.locator("[data-field=amount] dd")).to_have_text(f"{product['list_price']:,.2f}")
    snap("return")

    # a second return proposes the two that are left; asking for all three is refused
    page.goto(f"{base}/app/return_order/new?sales_order={order_id}")
    expect(page.locator("[name=lines-0-quantity]")).to_have_value("2.00")
    page.fill("[name=lines-0-quantity]", "3")
    page.select_option("#f-reason", "wrong_quantity")
    page.click("button[value=save_close]")
    expect(page.locator("#record-form .grid-table .errors")).to_contain_text("最多可退 2")
    snap("return-refused")
