"""A person signs in, creates a customer with a parent (lookup) and a region (cascade),
and finds it again through the list's filters."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def login(page: Page, base: str) -> None:
    page.goto(base + "/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "secret-pw")
    page.click("button.primary")
    expect(page.locator("header.topbar")).to_be_visible()


def test_create_customer_with_lookup_and_cascade(page: Page, live_site, output_path):
    base, site = live_site
    admin = site.records(site.actor(site.authenticate("admin", "secret-pw")), "zh")
    admin.create("customer", {"name": "陕西华信集团有限公司", "province": "shaanxi", "city": "xian"})
    admin.create("customer", {"name": "兰州金诚商贸有限公司", "province": "gansu", "city": "lanzhou"})

    login(page, base)
    page.goto(base + "/app/customer/new")
    expect(page.locator("h1")).to_contain_text("客户")
    page.fill("#f-name", "西安华信电子科技有限公司")

    # lookup: type part of the parent's name, pick it from the type-ahead menu
    parent = page.locator("[data-field=parent] input[type=search]")
    parent.fill("华信集团")
    option = page.locator("[data-field=parent] [data-pick]")
    expect(option).to_have_count(1)
    option.click()
    expect(page.locator("#f-parent")).not_to_have_value("")

    # cascade: province -> city -> district; the city list follows the province
    page.select_option("#f-province", "shaanxi")
    expect(page.locator("#f-city option[value=xian]")).to_have_count(1)
    expect(page.locator("#f-city option[value=lanzhou]")).to_have_count(0)
    page.select_option("#f-city", "xian")
    expect(page.locator("#f-district option[value=xian_yanta]")).to_have_count(1)
    page.select_option("#f-district", "xian_yanta")

    # a field error shows as soon as one leaves the field
    page.fill("#f-email", "not-an-email")
    page.locator("#f-name").click()
    expect(page.locator("#err-email")).to_contain_text("邮箱")
    page.fill("#f-email", "info@huaxin.example.com")
    page.locator("#f-name").click()
    expect(page.locator("#err-email")).to_have_text("")
    page.screenshot(path=f"{output_path}/customer-form.png", full_page=True)

    page.click("button[value=save_close]")
    expect(page.locator("h1")).to_contain_text("西安华信电子科技有限公司")
    expect(page.locator("[data-field=parent] dd")).to_have_text("陕西华信集团有限公司")
    expect(page.locator("[data-field=city] dd")).to_have_text("西安市")
    page.screenshot(path=f"{output_path}/customer-detail.png", full_page=True)

    # the filtered list finds it, and the URL keeps the filter
    page.goto(base + "/app/customer/")
    page.select_option("select[name='f.province.eq']", "shaanxi")
    expect(page).to_have_url(__import__("re").compile(r"f\.province\.eq=shaanxi"))
    expect(page.locator("#list tbody tr")).to_have_count(2)
    page.fill("#filters input[name=q]", "电子科技")
    expect(page.locator("#list tbody tr")).to_have_count(1)
    expect(page.locator("#list tbody tr").first).to_contain_text("西安华信电子科技有限公司")
    page.screenshot(path=f"{output_path}/customer-list.png", full_page=True)


def test_form_with_errors_is_shown_and_nothing_saved(page: Page, live_site):
    base, site = live_site
    login(page, base)
    page.goto(base + "/app/customer/new")
    page.click("button[value=save]")
    expect(page.locator("#err-name")).to_contain_text("名称")
    expect(page.locator(".alert.error")).to_be_visible()
    admin = site.records(site.actor(site.authenticate("admin", "secret-pw")), "zh")
    assert admin.count("customer") == 0


def test_quote_lines_grid_adds_rows_and_totals(page: Page, live_site, output_path):
    base, site = live_site
    admin = site.records(site.actor(site.authenticate("admin", "secret-pw")), "zh")
    customer = admin.create("customer", {"name": "西安华信电子科技有限公司"})
    server = admin.create("product", {"name": "戴尔 PowerEdge R750 服务器", "list_price": "52000"})
    switch = admin.create("product", {"name": "华为 S5735 交换机", "list_price": "8600"})

    login(page, base)
    page.goto(base + "/app/quote/new")
    page.fill("#f-subject", "机房升级报价")
    page.locator("[data-field=customer] input[type=search]").fill("华信")
    page.locator("[data-field=customer] [data-pick]").first.click()

    def add_line(index, product, quantity, price):
        page.click("[data-add-row=lines]")
        row = page.locator("[data-grid=lines] tbody tr").nth(index)
        row.locator("input[type=search]").fill(product)
        expect(row.locator("[data-pick]")).to_have_count(1)  # the menu narrowed to the typed text
        row.locator("[data-pick]").click()
        row.locator(f"input[name='lines-{index}-quantity']").fill(quantity)
        row.locator(f"input[name='lines-{index}-unit_price']").fill(price)
        row.locator(f"input[name='lines-{index}-unit_price']").press("Tab")

    add_line(0, "PowerEdge", "2", "52000")
    add_line(1, "交换机", "3", "8600")
    expect(page.locator("#calc-lines-1-amount")).to_have_text("25,800.00")
    expect(page.locator("#calc-subtotal")).to_have_text("129,800.00")
    page.fill("#f-discount_percent", "10")
    page.locator("#f-subject").click()
    expect(page.locator("#calc-total_amount")).to_have_text("116,820.00")

    # removing a line renumbers the rest and the totals follow
    page.locator("[data-grid=lines] tbody tr").nth(0).locator("[data-remove-row]").click()
    expect(page.locator("#calc-subtotal")).to_have_text("25,800.00")
    add_line(1, "PowerEdge", "1", "50000")
    expect(page.locator("#calc-subtotal")).to_have_text("75,800.00")
    page.screenshot(path=f"{output_path}/quote-form.png", full_page=True)

    page.click("button[value=save_close]")
    expect(page.locator("table.grid-view tbody tr")).to_have_count(2)
    saved = admin.list("quote", __import__("kehu.records.query", fromlist=["ListQuery"]).ListQuery()).rows
    quote = admin.get("quote", saved[0]["id"])
    assert [line["product"] for line in quote["lines"]] == [switch["id"], server["id"]]
    assert str(quote["subtotal"]) == "75800.00" and str(quote["total_amount"]) == "68220.00"
    assert quote["customer"] == customer["id"]
    page.screenshot(path=f"{output_path}/quote-detail.png", full_page=True)
