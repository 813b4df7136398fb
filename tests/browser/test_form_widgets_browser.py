"""Form behaviour only a browser shows: conditional fields appear and disappear, and the
sticky action bar of a long form never covers a field."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from kehu_testing import browser_sign_in


def test_a_conditional_field_hides_and_shows_as_the_type_changes(page: Page, live_site, output_path):
    base, _site = live_site
    browser_sign_in(page, base, "admin", "secret-pw")
    page.goto(base + "/app/activity/new")
    location = page.locator("[data-field=location]")
    expect(location).to_be_hidden()  # a task has no location
    page.select_option("#f-type", "visit")
    expect(location).to_be_visible()
    page.screenshot(path=f"{output_path}/visit-shows-location.png", full_page=True)
    page.select_option("#f-type", "call")
    expect(location).to_be_hidden()
    page.screenshot(path=f"{output_path}/call-hides-location.png", full_page=True)


def test_the_sticky_action_bar_covers_no_field(page: Page, live_site, output_path):
    base, _site = live_site
    page.set_viewport_size({"width": 1280, "height": 900})
    browser_sign_in(page, base, "admin", "secret-pw")
    page.goto(base + "/app/lead/new")
    page.screenshot(path=f"{output_path}/lead-new-top.png")
    bar = page.locator("#record-form > .actions")
    covered = []
    for field in page.locator("#record-form .field:visible").all():
        field.scroll_into_view_if_needed()
        box, bar_box = field.bounding_box(), bar.bounding_box()
        if box["y"] + box["height"] > bar_box["y"] + 1 and box["y"] < bar_box["y"] + bar_box["height"]:
            covered.append(field.get_attribute("data-field"))
    page.screenshot(path=f"{output_path}/lead-new-scrolled.png")
    assert covered == []
