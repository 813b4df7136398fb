"""On the demo data, in a browser: a sales rep's and an administrator's menus, a customer's
page after an edit (the message, the readable history) and its 360° timeline."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from kehu import create_app
from kehu.demo import DEMO_PASSWORD, load_demo
from kehu_testing import browser_sign_in


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo organisation and data (small scale) in a SQLite file, served on a free port."""
    folder = tmp_path_factory.mktemp("demo-browser")
    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/demo.db", "INSTANCE_PATH": str(folder / "instance"),
                      "SECRET_KEY": "browser-demo"})
    site = app.extensions["kehu"]
    site.migrate()
    load_demo(site, scale=0.02)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", site
    server.shutdown()
    thread.join(timeout=5)
    site.engine.dispose()


def busiest_customer(site, username: str) -> int:
    """The customer of ``username`` with the most quotes, orders and activities."""
    t = site.tables
    users, customer = t.users, t["customer"]
    related = sum(sa.select(sa.func.count()).where(t[name].c.customer == customer.c.id).scalar_subquery()
                  for name in ("quote", "sales_order", "activity", "contact"))
    with site.engine.connect() as conn:
        owner = conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar_one()
        return conn.execute(sa.select(customer.c.id).where(customer.c.owner == owner, customer.c.deleted_at.is_(None))
                            .order_by(related.desc(), customer.c.id).limit(1)).scalar_one()


def open_menus(page: Page) -> list[str]:
    titles = []
    for menu in page.locator("nav.modules details.menu").all():
        menu.locator("summary").click()
        titles.append(menu.locator("summary").inner_text())
    return titles


def test_a_reps_and_an_admins_menus(page: Page, demo_server, output_path):
    base, site = demo_server
    browser_sign_in(page, base, "zhaolei", DEMO_PASSWORD)
    assert open_menus(page) == ["销售", "服务", "市场", "知识库"]  # no repairs, no system menu
    expect(page.locator("details.menu.system")).to_have_count(0)
    expect(page.locator("nav.modules")).not_to_contain_text("维修单")
    page.screenshot(path=f"{output_path}/menus-1-rep.png")
    page.goto(base + "/app/customer/")
    expect(page.locator(".title-row .actions a")).to_have_text(["+ 新建"])  # no recycle bin, no export for a rep
    page.screenshot(path=f"{output_path}/menus-2-rep-customers.png")

    browser_sign_in(page, base, "admin", DEMO_PASSWORD)
    assert open_menus(page) == ["销售", "服务", "维修", "市场", "知识库"]
    page.locator("details.menu.system summary").click()
    expect(page.locator("details.menu.system")).to_contain_text("审计日志")
    page.screenshot(path=f"{output_path}/menus-3-admin.png")


def test_a_customer_after_an_edit_and_its_360_timeline(page: Page, demo_server, output_path):
    base, site = demo_server
    customer = busiest_customer(site, "zhaolei")
    browser_sign_in(page, base, "zhaolei", DEMO_PASSWORD)

    page.goto(f"{base}/app/customer/{customer}/edit")
    page.fill("input[name=phone]", "029-88886666")
    tier = "b" if page.input_value("select[name=value_tier]") != "b" else "c"
    tier_label = page.locator(f"select[name=value_tier] option[value={tier}]").inner_text()
    page.select_option("select[name=value_tier]", tier)
    page.locator("button[name=_action][value=save]").click()
    expect(page.locator(".flashes .alert.ok")).to_have_text("已保存。")
    assert page.url == f"{base}/app/customer/{customer}/edit"  # the URL follows the record
    page.screenshot(path=f"{output_path}/customer-1-saved.png", full_page=True)

    page.goto(f"{base}/app/customer/{customer}")
    timeline = page.locator("#timeline")
    expect(timeline.locator("h2")).to_have_text("时间线")
    latest = timeline.locator("li.tl-change").first
    expect(latest).to_contain_text("赵磊")
    expect(latest).to_contain_text("电话:")
    expect(latest).to_contain_text("→ 029-88886666")
    expect(latest).to_contain_text("价值等级:")
    expect(latest).to_contain_text(f"→ {tier_label}")
    expect(timeline).not_to_contain_text("{")
    expect(timeline).not_to_contain_text("value_tier")
    kinds = set(timeline.locator("li.tl-record").evaluate_all("items => items.map(i => i.dataset.entity)"))
    assert {"quote", "activity", "contact"} <= kinds
    page.screenshot(path=f"{output_path}/customer-2-detail-rep.png", full_page=True)
    timeline.screenshot(path=f"{output_path}/customer-3-timeline-rep.png")

    shown = timeline.locator("li").count()
    more = timeline.locator(".more a")
    if more.count():
        more.click()
        expect(page.locator("#timeline li")).not_to_have_count(shown)
        page.locator("#timeline").screenshot(path=f"{output_path}/customer-4-timeline-more.png")

    # the administrator: every related list (repair orders too) and the same history
    browser_sign_in(page, base, "admin", DEMO_PASSWORD)
    page.goto(f"{base}/app/customer/{customer}")
    expect(page.locator("#timeline li.tl-change").first).to_contain_text("赵磊")
    expect(page.locator("#related-repair_order-customer")).to_have_count(1)
    expect(page.locator(".title-row .actions")).to_contain_text("删除")
    page.screenshot(path=f"{output_path}/customer-5-detail-admin.png", full_page=True)
