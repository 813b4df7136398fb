"""A person double-clicks Save on a new customer: htmx disables the save buttons while the
request runs, one request leaves, one customer is created. And the 503 page a person sees
when the database is down."""

from __future__ import annotations

import shutil

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from kehu_testing import browser_sign_in


def test_double_click_on_save_creates_one_customer(page: Page, live_site, output_path):
    base, site = live_site
    browser_sign_in(page, base, "admin", "secret-pw")
    page.goto(base + "/app/customer/new")
    page.fill("#f-name", "西安双击测试有限公司")

    held, posts = [], []

    def hold(route):
        if route.request.method == "POST":
            posts.append(route.request.url)
            held.append(route)  # kept waiting until the test lets it go
        else:
            route.continue_()

    page.route("**/app/customer/new", hold)
    page.dblclick("button[value=save_close]")
    page.wait_for_function("() => document.querySelector('button[value=save_close]').disabled")
    for value in ("save", "save_close", "save_new"):
        expect(page.locator(f"button[value={value}]")).to_be_disabled()
    page.screenshot(path=f"{output_path}/saving.png", full_page=True)
    page.locator("button[value=save_close]").click(force=True)  # a third click while it runs
    assert len(posts) == 1
    held[0].continue_()
    expect(page.locator("h1")).to_contain_text("西安双击测试有限公司")
    page.screenshot(path=f"{output_path}/saved.png", full_page=True)
    assert len(posts) == 1
    table = site.tables["customer"]
    with site.reading() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(table)
                         .where(table.c.name == "西安双击测试有限公司")).scalar_one() == 1


def test_the_database_down_page(page: Page, live_site, output_path, tmp_path):
    base, site = live_site
    browser_sign_in(page, base, "admin", "secret-pw")
    site.engine.dispose()
    db = tmp_path / "browser.db"
    aside = tmp_path / "aside"
    aside.mkdir()
    for path in tmp_path.glob("browser.db*"):
        shutil.move(path, aside / path.name)
    db.mkdir()
    try:
        response = page.goto(base + "/app/customer/")
        assert response.status == 503
        expect(page.locator("h1[lang=zh-CN]")).to_contain_text("暂时无法连接数据库")
        expect(page.locator("h1[lang=en]")).to_contain_text("temporarily unavailable")
        page.screenshot(path=f"{output_path}/database-down.png", full_page=True)
    finally:
        db.rmdir()
        for path in aside.iterdir():
            shutil.move(path, tmp_path / path.name)
    page.goto(base + "/app/customer/")
    expect(page.locator("header.topbar")).to_be_visible()
