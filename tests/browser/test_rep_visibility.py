"""A sales rep sees only their own customers, their manager sees the rep's too, and a
colleague's customer opened by URL is the same 404 page as one that does not exist."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from kehu.org import OrgService
from kehu_testing import browser_sign_in

PASSWORD = "pw-secret-123"


def login(page: Page, base: str, username: str) -> None:
    browser_sign_in(page, base, username, PASSWORD)


def seed(site) -> dict:
    """销售事业部 (manager 李四) → 销售一部 (reps 王五, 赵六); 服务部 (钱八), each owning customers."""
    admin_row = site.authenticate("admin", "secret-pw")
    admin = site.records(site.actor(admin_row), "zh")
    org = OrgService(site, admin.actor, "zh")
    division = org.create_department("销售事业部")
    sales_1 = org.create_department("销售一部", parent_id=division)
    service = org.create_department("服务部")
    users = {
        "lisi": site.create_user("lisi", PASSWORD, "李四", roles=["sales_manager"], department_id=division),
        "wangwu": site.create_user("wangwu", PASSWORD, "王五", roles=["sales_rep"], department_id=sales_1),
        "zhaoliu": site.create_user("zhaoliu", PASSWORD, "赵六", roles=["sales_rep"], department_id=sales_1),
        "qianba": site.create_user("qianba", PASSWORD, "钱八", roles=["sales_rep"], department_id=service),
    }
    customers = {}
    for owner, name in (("wangwu", "西安华信电子科技有限公司"), ("wangwu", "兰州金诚商贸有限公司"),
                        ("zhaoliu", "银川宏达机电设备有限公司"), ("qianba", "西宁高原物流有限公司")):
        record = admin.create("customer", {"name": name})
        admin.ownership.assign("customer", [record["id"]], users[owner])
        customers[name] = record["id"]
    return customers


def listed_names(page: Page, customers: dict) -> list[str]:
    """The seeded customers the list shows (the first column is the code, so match by name)."""
    rows = page.locator("#list tbody tr").all_inner_texts()
    return sorted(name for name in customers if any(name in row for row in rows))


def test_reps_see_their_own_customers_and_managers_their_teams(page: Page, live_site, output_path):
    base, site = live_site
    customers = seed(site)

    # the rep: their two customers, nobody else's
    login(page, base, "wangwu")
    page.goto(base + "/app/customer/")
    expect(page.locator("#list tbody tr")).to_have_count(2)
    assert listed_names(page, customers) == sorted(["西安华信电子科技有限公司", "兰州金诚商贸有限公司"])
    expect(page.locator("#list")).not_to_contain_text("银川宏达")
    page.screenshot(path=f"{output_path}/permissions-1-rep-list.png", full_page=True)

    # a colleague's customer by URL: the same 404 page as a customer that does not exist
    colleague = customers["银川宏达机电设备有限公司"]
    response = page.goto(f"{base}/app/customer/{colleague}")
    assert response is not None and response.status == 404
    expect(page.locator(".error-page h1")).to_contain_text("404")
    expect(page.locator("body")).not_to_contain_text("银川宏达")
    hidden_message = page.locator(".error-page p").first.inner_text().replace(str(colleague), "<id>")
    page.screenshot(path=f"{output_path}/permissions-2-rep-colleague-404.png", full_page=True)
    missing = page.goto(f"{base}/app/customer/987654")
    assert missing is not None and missing.status == 404
    assert page.locator(".error-page p").first.inner_text().replace("987654", "<id>") == hidden_message
    page.screenshot(path=f"{output_path}/permissions-3-rep-missing-404.png", full_page=True)

    # the manager (department tree): the reps' customers below them, not the service department's
    login(page, base, "lisi")
    page.goto(base + "/app/customer/")
    expect(page.locator("#list tbody tr")).to_have_count(3)
    assert listed_names(page, customers) == sorted(["西安华信电子科技有限公司", "兰州金诚商贸有限公司", "银川宏达机电设备有限公司"])
    expect(page.locator("#list")).not_to_contain_text("西宁高原")
    page.screenshot(path=f"{output_path}/permissions-4-manager-list.png", full_page=True)
    page.goto(f"{base}/app/customer/{colleague}")
    expect(page.locator("h1")).to_contain_text("银川宏达机电设备有限公司")
    page.screenshot(path=f"{output_path}/permissions-5-manager-detail.png", full_page=True)
