"""A rep gives a 25% discount on a quote and submits it; the sales manager approves it from
the approvals inbox; the general manager first tries to reject without a reason (refused in
the panel), then approves from the record page. The quote ends Approved, and its history
names both approvers."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from kehu.org import OrgService
from kehu_testing import browser_sign_in

PASSWORD = "pw-secret-123"


def login(page: Page, base: str, username: str) -> None:
    browser_sign_in(page, base, username, PASSWORD)


def seed(site) -> dict:
    """总部 (general manager 张总) above 销售部 (manager 李经理, rep 王五); a draft quote of 王五's."""
    admin = site.authenticate("admin", "secret-pw")
    org = OrgService(site, site.actor(admin), "zh")
    top = org.create_department("总部")
    sales = org.create_department("销售部", parent_id=top)
    ids = {
        "gm": site.create_user("zhangzong", PASSWORD, "张总", roles=["general_manager"], department_id=top),
        "mgr": site.create_user("lijingli", PASSWORD, "李经理", roles=["sales_manager"], department_id=sales),
        "rep": site.create_user("wangwu", PASSWORD, "王五", roles=["sales_rep"], department_id=sales),
    }
    departments = site.tables.departments
    with site.writing() as c:
        c.execute(sa.update(departments).where(departments.c.id == top).values(manager_id=ids["gm"]))
        c.execute(sa.update(departments).where(departments.c.id == sales).values(manager_id=ids["mgr"]))
    rep = site.records(site.actor(site.user(ids["rep"])), "zh")
    customer = rep.create("customer", {"name": "西安华信电子科技有限公司"})
    quote = rep.create("quote", {"subject": "机房升级报价", "customer": customer["id"], "quote_date": dt.date.today(),
                                 "status": "draft", "discount_percent": 0})
    ids["quote"] = quote["id"]
    return ids


def test_quote_discount_goes_through_two_approvals(page: Page, live_site, output_path):
    base, site = live_site
    ids = seed(site)
    record_url = f"{base}/app/quote/{ids['quote']}"
    panel = page.locator("section#approval")

    # the rep sets a 25% discount in the edit form and submits the quote from its page
    login(page, base, "wangwu")
    page.goto(record_url)
    expect(panel).to_have_count(0)  # no discount, no approval
    page.goto(record_url + "/edit")
    page.fill("#f-discount_percent", "25")
    page.click("button[value=save_close]")
    expect(page.locator("[data-field=discount_percent] dd")).to_contain_text("25")
    expect(panel.locator("form.submit-approval")).to_be_visible()
    expect(panel.locator("form.submit-approval")).to_contain_text("报价折扣审批")
    panel.locator("form.submit-approval input[name=comment]").fill("战略客户，请批准")
    panel.get_by_role("button", name="提交审批").click()
    expect(panel).to_have_attribute("data-state", "pending")
    expect(page.locator(".flashes")).to_contain_text("已提交审批")
    expect(page.locator(".title-row span.locked")).to_have_text("审批中，已锁定")
    expect(page.locator(".title-row").get_by_role("link", name="编辑")).to_have_count(0)
    expect(page.locator("[data-field=status] dd")).to_have_text("待审批")
    expect(panel.locator("li[data-step=sales_manager]")).to_contain_text("李经理")
    page.screenshot(path=f"{output_path}/approval-1-record-pending.png", full_page=True)

    # the sales manager approves from the inbox
    login(page, base, "lijingli")
    page.goto(base + "/-/approvals")
    expect(page.locator("#inbox-waiting")).to_have_text("1")
    row = page.locator("table.inbox tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("机房升级报价")
    expect(row).to_contain_text("销售经理审批")
    expect(row).to_contain_text("王五")
    row.locator("form.inbox-decide input[name=comment]").fill("同意，注意回款")
    page.screenshot(path=f"{output_path}/approval-2-inbox.png", full_page=True)
    row.locator("form.inbox-decide").get_by_role("button", name="同意").click()
    expect(page).to_have_url(re.compile(r"/-/approvals$"))
    expect(page.locator(".flashes")).to_contain_text("进入下一步")
    expect(page.locator("table.inbox tbody tr")).to_have_count(0)

    # the general manager: a rejection without a reason is refused in the panel, then approves
    login(page, base, "zhangzong")
    page.goto(base + "/-/approvals")
    gm_row = page.locator("table.inbox tbody tr")
    expect(gm_row).to_have_count(1)
    expect(gm_row).to_contain_text("总经理审批")
    gm_row.get_by_role("link", name="机房升级报价").click()
    expect(page).to_have_url(record_url)
    decide = panel.locator("form.decide")
    expect(decide).to_be_visible()
    decide.get_by_role("button", name="驳回").click()
    expect(panel.locator(".alert.error")).to_contain_text("请填写驳回理由")
    expect(panel.locator("textarea[name=comment]")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=f"{output_path}/approval-3-reject-refused.png", full_page=True)
    panel.locator("textarea[name=comment]").fill("同意，下不为例")
    panel.locator("form.decide").get_by_role("button", name="同意").click()
    expect(panel).to_have_attribute("data-state", "approved")
    expect(page.locator(".flashes")).to_contain_text("审批完成")
    expect(page.locator("[data-field=status] dd")).to_have_text("已审批")
    expect(page.locator(".title-row span.locked")).to_have_count(0)

    approvals = page.locator("section.timeline li").filter(has=page.locator("span.approval-event[data-action=approve]"))
    expect(approvals).to_have_count(2)
    expect(approvals.nth(0)).to_contain_text("张总")
    expect(approvals.nth(0)).to_contain_text("同意，下不为例")
    expect(approvals.nth(1)).to_contain_text("李经理")
    expect(approvals.nth(1)).to_contain_text("同意，注意回款")
    page.screenshot(path=f"{output_path}/approval-4-record-approved.png", full_page=True)

    # and the rep sees the same
    login(page, base, "wangwu")
    page.goto(record_url)
    expect(page.locator("[data-field=status] dd")).to_have_text("已审批")
    expect(panel).to_have_attribute("data-state", "approved")
