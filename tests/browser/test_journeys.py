"""Daily journeys on the demo data, each signed in as the person who does the work.

Every step saves a screenshot under ``test-results/<test>/`` (``output_path``) to be looked at:
Chinese text, layout, buttons a person can or cannot use. The demo organisation: 李强
(liqiang) manages sales team west (赵磊 zhaolei, 刘洋 liuyang, 陈静 chenjing); 周杰 (zhoujie)
manages service; 吴昊 (wuhao) is a service engineer; 钱宇 (qianyu) maintains products and
publishes articles; 郑雪 (zhengxue) does marketing; admin administers.
"""

from __future__ import annotations

import datetime as dt
from playwright.sync_api import Page, expect

from kehu.records.query import Filter, ListQuery
from kehu_testing import browser_sign_in


class Steps:
    """Numbered screenshots of one journey (full page, so nothing below the fold is missed)."""

    def __init__(self, page: Page, output_path: str):
        self.page, self.folder, self.n = page, output_path, 0

    def shot(self, name: str) -> None:
        self.n += 1
        self.page.screenshot(path=f"{self.folder}/{self.n:02d}-{name}.png", full_page=True)


def sign_in(page: Page, base: str, demo, username: str) -> None:
    browser_sign_in(page, base, username, demo.template.password(username))


def choose(page: Page, select: str, text: str) -> None:
    """Pick the option of ``select`` whose text contains ``text``."""
    value = page.locator(f"{select} option", has_text=text).first.get_attribute("value")
    page.select_option(select, value)


def owned_count(demo, username: str, entity: str) -> int:
    admin = demo.service("admin")
    user_id = demo.service(username).actor.id
    return admin.count(entity, ListQuery(filters=[Filter("owner", "eq", (user_id,), (str(user_id),))]))


# ------------------------------------------------------------ the manager
def test_manager_approves_a_discount_sees_the_team_and_admin_hands_over_a_leavers_customers(page: Page, demo_live, output_path):
    base, demo = demo_live
    steps = Steps(page, output_path)
    # 赵磊 gives 15% off and submits (his part of the day is the sales chain's journey)
    rep = demo.service("zhaolei")
    customer = rep.list("customer", ListQuery(per_page=1), ["id"]).rows[0]
    products = rep.list("product", ListQuery(per_page=2), ["id", "list_price"]).rows
    lines = [{"product": p["id"], "quantity": "2", "unit_price": str(p["list_price"] or 10000)} for p in products]
    quote = rep.create("quote", {"subject": "西北大区机房扩容报价", "customer": customer["id"], "status": "draft",
                                 "quote_date": dt.date(2026, 11, 2), "discount_percent": "15", "lines": lines})
    rep.approvals.submit("quote", quote["id"], "客户是老客户，申请 15% 折扣")

    # 李强 starts his day on the workbench: approvals wait for him
    sign_in(page, base, demo, "liqiang")
    steps.shot("workbench")
    page.click("nav.own a[href='/-/approvals']")
    row = page.locator(f"tr[data-record='quote-{quote['id']}']")
    expect(row).to_contain_text("西北大区机房扩容报价")
    expect(row).to_contain_text("赵磊")
    steps.shot("approvals-inbox")
    row.locator("a").first.click()
    expect(page.locator(".timeline")).to_contain_text("客户是老客户")  # the note he sent with it
    steps.shot("quote-waiting")
    page.fill("#approval-comment", "同意，注意回款")
    page.click("section#approval button.primary")
    expect(page.locator("section#approval .state")).to_have_text("已通过")
    expect(page.locator("[data-field=status] dd")).to_have_text("已审批")
    steps.shot("quote-approved")

    # my team: each of his reps with what they own
    page.click("nav.own a[href='/-/team']")
    team = page.locator("table#team")
    for name in ("赵磊", "刘洋", "陈静"):
        expect(team).to_contain_text(name)
    steps.shot("my-team")

    # 陈静 leaves: the administrator gives everything she owns to 刘洋
    leaver_customers = owned_count(demo, "chenjing", "customer")
    taker_customers = owned_count(demo, "liuyang", "customer")
    assert leaver_customers > 0
    sign_in(page, base, demo, "admin")
    page.goto(base + "/-/admin/transfer")
    choose(page, "#f-from_user", "陈静")
    choose(page, "#f-to_user", "刘洋")
    page.click("#transfer-form button")
    expect(page.locator("#preview tr[data-entity=customer]")).to_contain_text(str(leaver_customers))
    steps.shot("transfer-preview")
    page.click("#transfer-confirm button")
    expect(page.locator("#moved .alert.ok")).to_be_visible()
    steps.shot("transfer-done")
    assert owned_count(demo, "chenjing", "customer") == 0
    assert owned_count(demo, "liuyang", "customer") == taker_customers + leaver_customers

    # and the manager sees it on his team page
    sign_in(page, base, demo, "liqiang")
    page.goto(base + "/-/team")
    chen = page.locator("table#team tr", has_text="陈静").locator("td[data-entity=customer]")
    expect(chen).to_have_text("0")
    steps.shot("my-team-after-transfer")


# ------------------------------------------------- knowledge writer and reviewers
def test_an_engineer_writes_an_article_the_service_manager_reviews_and_it_is_published(page: Page, demo_live, output_path):
    base, demo = demo_live
    steps = Steps(page, output_path)
    sign_in(page, base, demo, "wuhao")
    page.goto(base + "/app/knowledge_article/new")
    page.fill("#f-title", "联想 ThinkSystem SR650 开机报 PSU 故障的处理")
    page.select_option("#f-category", index=1)
    page.fill("#f-keywords", "SR650 电源 PSU")
    page.fill("#f-summary", "双电源服务器单路电源告警时的排查步骤。")
    page.fill("#f-content", "1. 检查电源线与 PDU；2. 交换两路电源模块；3. 仍告警则更换电源模块。")
    steps.shot("article-form")
    page.click("button[value=save_close]")
    expect(page.locator("h1")).to_contain_text("SR650")
    expect(page.locator("[data-field=status] dd")).to_have_text("草稿")
    article_url = page.url
    page.fill("section#approval input[name=comment]", "请审核")
    page.click("section#approval button.primary")
    expect(page.locator("section#approval .state")).to_have_text("审批中")
    steps.shot("article-submitted")

    # 周杰 reviews it from his inbox
    sign_in(page, base, demo, "zhoujie")
    page.goto(base + "/-/approvals")
    row = page.locator("table.inbox tr", has_text="SR650")
    expect(row).to_contain_text("吴昊")
    steps.shot("reviewer-inbox")
    row.locator("input[name=comment]").fill("内容准确")
    row.locator("button.primary").click()
    expect(page.locator("table.inbox tr", has_text="SR650")).to_have_count(0)
    steps.shot("reviewer-approved")

    # 钱宇 publishes it
    sign_in(page, base, demo, "qianyu")
    page.goto(article_url)
    expect(page.locator("[data-field=status] dd")).to_have_text("已审核")
    page.click("section#approval button.primary")
    expect(page.locator("section#approval .state")).to_have_text("已通过")
    expect(page.locator("[data-field=status] dd")).to_have_text("已发布")
    steps.shot("article-published")


# ------------------------------------------------------------ the marketer
def test_the_marketer_runs_a_campaign_and_finds_its_leads_on_it(page: Page, demo_live, output_path):
    base, demo = demo_live
    steps = Steps(page, output_path)
    sign_in(page, base, demo, "zhengxue")
    page.goto(base + "/app/campaign/new")
    page.fill("#f-name", "2026 西安智慧教育装备展")
    page.select_option("#f-type", index=1)
    page.fill("#f-start_date", "2026-11-10")
    page.fill("#f-end_date", "2026-11-12")
    page.fill("#f-budget", "80000")
    steps.shot("campaign-form")
    page.click("button[value=save_close]")
    expect(page.locator("h1")).to_contain_text("智慧教育装备展")
    campaign_url = page.url
    steps.shot("campaign-detail")

    for company, person in (("西安市第八十三中学", "王老师"), ("陕西师范大学附属中学", "刘主任")):
        page.goto(base + "/app/lead/new")
        page.fill("#f-company_name", company)
        page.fill("#f-contact_name", person)
        page.select_option("#f-source", index=1)
        page.locator("[data-field=campaign] input[type=search]").fill("智慧教育")
        page.locator("[data-field=campaign] [data-pick]").first.click()
        expect(page.locator("#f-campaign")).not_to_have_value("")
        steps.shot("lead-form")
        page.click("button[value=save_close]")
        expect(page.locator("[data-field=campaign] dd")).to_have_text("2026 西安智慧教育装备展")

    page.goto(campaign_url)
    related = page.locator("section#related-lead-campaign")
    expect(related.locator(".count")).to_have_text("2")
    expect(related).to_contain_text("西安市第八十三中学")
    expect(related).to_contain_text("陕西师范大学附属中学")
    steps.shot("campaign-with-leads")


# --------------------------------------------------------------- the admin
def test_the_admin_adds_a_rep_to_a_department_and_the_rep_signs_in(page: Page, demo_live, output_path):
    base, demo = demo_live
    steps = Steps(page, output_path)
    sign_in(page, base, demo, "admin")
    page.click("details.system summary")
    page.click("details.system a[href='/-/admin/users']")
    users = page.locator("table#users")
    expect(users.locator("tr", has_text="zhaolei").locator(".roles")).to_have_text("销售代表")
    steps.shot("users-and-roles")
    page.click("a[href='/-/admin/users/new']")
    page.fill("#f-username", "xiaoming")
    page.fill("#f-display_name", "肖明")
    page.fill("#f-password", "kehu-2026-xm")
    choose(page, "#f-department_id", "销售一部")
    page.check("#f-roles input[value=sales_rep]")
    steps.shot("new-user-form")
    page.click("#user-form button.primary")
    expect(users.locator("tr", has_text="xiaoming")).to_contain_text("销售代表")
    expect(users.locator("tr", has_text="xiaoming").locator(".department")).to_contain_text("销售一部")
    steps.shot("users-with-new-rep")
    page.goto(base + "/-/admin/departments")
    expect(page.locator("main")).to_contain_text("销售一部（西北西南）")
    steps.shot("departments")

    # the new rep signs in to an empty workbench of their own
    browser_sign_in(page, base, "xiaoming", "kehu-2026-xm")
    expect(page.locator(".who")).to_contain_text("肖明")
    steps.shot("new-rep-workbench")
    page.goto(base + "/app/customer/")
    expect(page.locator("#list .summary")).to_contain_text("0")
    steps.shot("new-rep-customers")
