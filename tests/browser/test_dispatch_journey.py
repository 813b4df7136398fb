"""The service manager's and the engineer's day on the demo data: 周杰 (service manager)
dispatches a request waiting on the board to 吴昊; 吴昊 finds it on his workbench and in his
list, opens it, logs his work and resolves it. Then 吴昊 records a customer's feedback for
finance and submits it to that department; its manager 周敏 (finance: no role of hers opens
feedback) finds it waiting for her and works it."""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from kehu import create_app
from kehu.demo import DEMO_PASSWORD, load_demo
from kehu_testing import browser_sign_in


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo data (a small scale) in a SQLite file, served on a free port for this module."""
    folder = tmp_path_factory.mktemp("dispatch-demo")
    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/demo.db", "INSTANCE_PATH": str(folder / "instance"),
                      "SECRET_KEY": "browser-test"})
    site = app.extensions["kehu"]
    site.migrate()
    load_demo(site, scale=0.05)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", site
    server.shutdown()
    thread.join(timeout=5)
    site.engine.dispose()


def login(page: Page, base: str, username: str) -> None:
    browser_sign_in(page, base, username, DEMO_PASSWORD)


def test_a_request_is_dispatched_worked_and_feedback_reaches_its_department(page: Page, demo_server, output_path):
    base, site = demo_server
    page.set_viewport_size({"width": 1366, "height": 900})

    # -- 周杰, the service manager, dispatches the most urgent request waiting on the board
    login(page, base, "zhoujie")
    page.locator("header.topbar").get_by_role("link", name="派工").click()
    expect(page).to_have_url(re.compile(r"/-/dispatch/service_request/$"))
    expect(page.locator("h1")).to_contain_text("派工台")
    rows = page.locator("#unassigned tbody tr")
    expect(rows.first).to_be_visible()
    waiting = rows.count()
    row = rows.first
    record_id = row.get_attribute("data-record")
    subject = row.locator("td").first.inner_text()
    wuhao_before = int(page.locator("#load tr", has_text="吴昊").locator("td.total").inner_text())
    page.screenshot(path=f"{output_path}/dispatch-1-board.png", full_page=True)
    wuhao = row.locator("select[name=user] option", has_text="吴昊").get_attribute("value")
    row.locator("select[name=user]").select_option(wuhao)
    row.get_by_role("button", name="派工").click()
    done = page.locator(f"#dispatch-{record_id}")
    expect(done).to_contain_text("已派给 吴昊。")
    expect(done.locator("form")).to_have_count(0)
    expect(page.locator("#load tr", has_text="吴昊").locator("td.total")).to_have_text(str(wuhao_before + 1))
    page.screenshot(path=f"{output_path}/dispatch-2-dispatched.png", full_page=True)
    page.reload()
    expect(page.locator("#unassigned tbody tr")).to_have_count(waiting - 1)

    # -- 吴昊 finds it on his workbench (a notification, and among his requests as engineer)
    login(page, base, "wuhao")
    expect(page.locator("#wb-notifications")).to_contain_text(f"{subject} 已指定给您（服务工程师）")
    page.screenshot(path=f"{output_path}/dispatch-3-engineer-workbench.png", full_page=True)
    page.goto(base + "/app/service_request/?f.engineer.eq=" + str(site.authenticate("wuhao", DEMO_PASSWORD)["id"]))
    listed = page.locator("#list tbody tr", has_text=subject)
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("已分派")
    page.screenshot(path=f"{output_path}/dispatch-4-engineer-list.png", full_page=True)
    listed.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/app/service_request/{record_id}$"))
    expect(page.locator("[data-field=engineer] dd")).to_have_text("吴昊")
    expect(page.locator("[data-field=status] dd")).to_have_text("已分派")

    # -- he logs his work and resolves it
    page.goto(f"{base}/app/service_request/{record_id}/edit")
    page.select_option("#f-status", "resolved")
    page.fill("#f-resolved_at", "2030-01-02T16:30")
    page.get_by_role("tab", name="服务记录").click()
    page.locator("button[data-add-row=work_log]").click()
    line = page.locator("table[data-grid=work_log] tbody tr").last
    line.locator("[name$='-content']").fill("上门更换搓纸轮，测试打印正常")
    line.locator("[name$='-hours']").fill("2")
    page.screenshot(path=f"{output_path}/dispatch-5-engineer-edit.png", full_page=True)
    page.click("button[value=save_close]")
    expect(page).to_have_url(re.compile(rf"/app/service_request/{record_id}$"))
    expect(page.locator("[data-field=status] dd")).to_have_text("已解决")
    page.get_by_role("tab", name="服务记录").click()
    expect(page.locator("section, div").filter(has_text="上门更换搓纸轮，测试打印正常").last).to_be_visible()
    page.screenshot(path=f"{output_path}/dispatch-6-engineer-resolved.png", full_page=True)

    # -- feedback for finance, submitted to that department
    page.goto(base + "/app/feedback/new")
    page.fill("#f-subject", "发票抬头开错")
    page.select_option("#f-type", "complaint")
    page.select_option("#f-department", "finance")
    page.fill("#f-content", "客户反映上月发票抬头错误，需要重开。")
    page.click("button[value=save_close]")
    expect(page).to_have_url(re.compile(r"/app/feedback/\d+$"))
    feedback_url = page.url
    panel = page.locator("section#approval")
    panel.get_by_role("button", name="提交审批").click()
    expect(panel).to_have_attribute("data-state", "pending")
    expect(page.locator("[data-field=status] dd")).to_have_text("已提交部门")
    page.screenshot(path=f"{output_path}/dispatch-7-feedback-submitted.png", full_page=True)

    # -- 周敏, the finance manager, finds it waiting and works it
    login(page, base, "zhoumin")
    page.goto(base + "/-/approvals")
    waiting_row = page.locator("table.inbox tbody tr", has_text="发票抬头开错")
    expect(waiting_row).to_have_count(1)
    waiting_row.locator("form.inbox-decide").get_by_role("button", name="同意").click()
    page.goto(base + "/app/feedback/")
    expect(page.locator("#list tbody tr", has_text="发票抬头开错")).to_have_count(1)
    page.locator("#list tbody tr", has_text="发票抬头开错").get_by_role("link").first.click()
    expect(page).to_have_url(feedback_url)
    expect(page.locator("[data-field=status] dd")).to_have_text("处理中")
    page.screenshot(path=f"{output_path}/dispatch-8-department-manager.png", full_page=True)
