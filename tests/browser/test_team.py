"""The Team page and the invitation walk in a real browser (issue #18): an administrator
invites a viewer from the user menu, the email's link (Django's mail outbox) sets a password on
a phone and logs in with that role, and the viewer is shown why they cannot take a delivery.
English and Chinese, 1366 and 390 px, axe on every page, no console errors."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core.mail import EmailMessage
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import PHONE, SCREENSHOTS, check_accessibility, log_in
from tests.browser.widths import check_both_widths

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]

INITIATE = "/purchase/orders/LIC-2026-0001/new-delivery/"
PASSWORD = "line-viewer-pass-2026"


def switch_to_chinese(page: Page) -> None:
    page.locator("#language-select").select_option(label="简体中文")  # submits by itself
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")


def test_an_administrator_invites_a_viewer_who_cannot_take(
    page: Page, new_context: Callable[..., BrowserContext], mailoutbox: list[EmailMessage]
) -> None:
    log_in(page, "acme")
    page.locator(".usermenu > summary").click()
    page.screenshot(path=SCREENSHOTS / "team-user-menu-1366.png")
    page.locator(".usermenu").get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team")
    expect(page.get_by_role("row", name=re.compile("acme-viewer"))).to_contain_text("Viewer")
    check_both_widths(page, "team-1")

    page.get_by_label("Email address").fill("line.viewer@example.com")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_label("Language of the email").select_option("zh-hans")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#messages")).to_contain_text("Invitation sent to line.viewer@example.com")
    expect(page.get_by_text("line.viewer@example.com as Viewer")).to_be_visible()
    switch_to_chinese(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("团队")
    check_both_widths(page, "team-2")

    (mail,) = mailoutbox
    assert "受邀" in mail.subject  # the language chosen for the email
    found = re.search(r"https?://[^/\s]+(/accounts/invitation/[^/\s]+/)", mail.body)
    assert found is not None
    newcomer = new_context().new_page()
    newcomer.set_viewport_size(PHONE)
    newcomer.goto(found.group(1))
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("Join your team")
    switch_to_chinese(newcomer)
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("加入您的团队")
    check_accessibility(newcomer)
    newcomer.get_by_label("新密码", exact=True).fill(PASSWORD)
    newcomer.get_by_label("再次输入新密码").fill(PASSWORD)
    newcomer.locator("main form button[type=submit]").click()
    newcomer.wait_for_url("**/purchase/orders/")

    newcomer.goto(INITIATE)
    expect(newcomer.locator("#take-refused-by-role")).to_contain_text("查看者")
    expect(newcomer.locator(".take-form")).to_have_count(0)
    check_accessibility(newcomer)

    # The link works once.
    newcomer.goto(found.group(1))
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("此邀请链接无效")


def test_the_user_menu_reaches_two_factor_on_a_phone_by_keyboard_and_touch(
    new_context: Callable[..., BrowserContext],
) -> None:
    phone = new_context(has_touch=True).new_page()
    phone.set_viewport_size(PHONE)
    log_in(phone, "acme-planner", "acme-demo-2026")
    summary = phone.locator(".usermenu > summary")
    expect(summary).to_be_in_viewport()
    summary.focus()
    phone.keyboard.press("Enter")
    two_factor = phone.locator(".usermenu").get_by_role("link", name="Two-factor authentication")
    expect(two_factor).to_be_in_viewport()
    phone.screenshot(path=SCREENSHOTS / "team-user-menu-390.png")
    overflow = phone.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the open menu makes the page scroll sideways by {overflow}px"
    check_accessibility(phone)
    phone.keyboard.press("Tab")
    expect(two_factor).to_be_focused()
    phone.keyboard.press("Enter")
    phone.wait_for_url("**/accounts/two-factor/")
    # By touch: a tap opens the menu as well, and the Team link is there.
    phone.locator(".usermenu > summary").tap()
    team = phone.locator(".usermenu").get_by_role("link", name="Team")
    expect(team).to_be_in_viewport()
    team.tap()
    phone.wait_for_url("**/accounts/team/")
    expect(phone.get_by_text("Invite a colleague")).to_have_count(0)  # a planner: no forms
    check_accessibility(phone)
