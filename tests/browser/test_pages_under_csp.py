"""The pages work under the Content-Security-Policy (no inline scripts or styles, htmx
without eval): a person uses lists, type-ahead, cascades, field checks, a child grid,
exports and the admin pages, and the browser reports no policy violation on the way."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from kehu.org import OrgService


def watch_console(page: Page) -> list[str]:
    """Console errors and warnings, and uncaught page errors (CSP violations land here)."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: seen.append(f"pageerror: {e}"))
    return seen


def violations(seen: list[str]) -> list[str]:
    """Policy violations and htmx's own errors (an attribute it cannot run without eval, a
    trigger it cannot parse)."""
    words = ("Content Security Policy", "Refused to", "unsafe-eval", "unsafe-inline", "pageerror", "htmx:")
    return [m for m in seen if any(w in m for w in words)]


def sign_in(page: Page, base: str) -> None:
    page.goto(base + "/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "secret-pw")
    page.click("button.primary")
    expect(page.locator("header.topbar")).to_be_visible()


def test_pages_work_under_the_policy_without_violations(page: Page, live_site, output_path):
    base, site = live_site
    admin_row = site.authenticate("admin", "secret-pw")
    admin = site.records(site.actor(admin_row), "zh")
    admin.create("customer", {"name": "陕西华信集团有限公司", "province": "shaanxi", "city": "xian"})
    admin.create("customer", {"name": "兰州金诚商贸有限公司", "province": "gansu", "city": "lanzhou"})
    org = OrgService(site, site.actor(admin_row), "zh")
    top = org.create_department("总部")
    sales = org.create_department("销售部", parent_id=top)
    org.create_department("华北大区", parent_id=sales)

    seen = watch_console(page)
    sign_in(page, base)
    response = page.goto(base + "/app/customer/")
    assert "unsafe" not in response.headers["content-security-policy"]

    # the list filters through htmx (a search typed, a select changed)
    page.fill("#filters input[name=q]", "华信")
    expect(page.locator("#list tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=%E5%8D%8E%E4%BF%A1"))
    page.fill("#filters input[name=q]", "")
    page.select_option("select[name='f.province.eq']", "gansu")
    expect(page.locator("#list tbody tr")).to_have_count(1)
    expect(page.locator("#list tbody tr").first).to_contain_text("兰州金诚")

    # the export is a form: it downloads the filtered list
    with page.expect_download() as download:
        page.click("form#export button")
    assert download.value.suggested_filename.endswith(".csv")
    page.screenshot(path=f"{output_path}/list-under-csp.png", full_page=True)

    # a form: type-ahead, cascade, a field check as one leaves the field
    page.goto(base + "/app/customer/new")
    page.fill("#f-name", "西安华信电子科技有限公司")
    page.locator("[data-field=parent] input[type=search]").fill("华信集团")
    expect(page.locator("[data-field=parent] [data-pick]")).to_have_count(1)
    page.locator("[data-field=parent] [data-pick]").click()
    page.select_option("#f-province", "shaanxi")
    expect(page.locator("#f-city option[value=xian]")).to_have_count(1)
    page.fill("#f-email", "not-an-email")
    page.locator("#f-name").click()
    expect(page.locator("#err-email")).not_to_have_text("")
    page.screenshot(path=f"{output_path}/form-under-csp.png", full_page=True)
    page.fill("#f-email", "info@huaxin.example.com")
    page.click("button[value=save_close]")
    expect(page.locator("h1")).to_contain_text("西安华信电子科技有限公司")

    # a refused save comes back as a 422 form that htmx swaps in, with the message
    page.goto(base + "/app/customer/new")
    page.fill("#f-name", "控制\u0007字符")
    page.click("button[value=save]")
    expect(page.locator("#err-name")).to_contain_text("U+0007")

    # the departments tree is indented by CSS classes, not inline styles
    page.goto(base + "/-/admin/departments")
    indent = page.locator("tr[data-depth='2'] td.name")
    expect(indent).to_have_class(re.compile(r"indent-2"))
    assert indent.evaluate("el => getComputedStyle(el).paddingLeft") == "58px"
    page.screenshot(path=f"{output_path}/departments-under-csp.png", full_page=True)

    for url in ("/", "/-/approvals", "/-/admin/users", "/-/admin/audit"):
        page.goto(base + url)
        expect(page.locator("header.topbar")).to_be_visible()
    page.screenshot(path=f"{output_path}/audit-under-csp.png", full_page=True)
    assert violations(seen) == [], seen
