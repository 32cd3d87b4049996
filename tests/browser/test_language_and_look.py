"""English and Simplified Chinese in a real browser, and how the main pages look at a phone's
and a desktop's width (the screenshots in var/screenshots/look-*.png)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from playwright.sync_api import BrowserContext, Page, expect

from orders.models import PurchaseOrder
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, check_accessibility, log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]


def language_cookie(context: BrowserContext) -> str | None:
    for cookie in context.cookies():
        if cookie["name"] == settings.LANGUAGE_COOKIE_NAME:
            return cookie["value"]
    return None


def test_switching_language_keeps_the_page_and_persists(page: Page) -> None:
    log_in(page, "acme")
    page.get_by_label("Status").select_option(label="Partially delivered")
    expect(page).to_have_url(re.compile(r"status=partial"))
    where = page.url

    page.get_by_label("Language").select_option(label="简体中文")  # submits by itself
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    assert page.url == where, "the switch must come back to the same page, filters included"
    expect(page).to_have_title("采购订单 · 翻新门户")
    expect(page.get_by_role("heading", level=1)).to_have_text("采购订单")
    expect(page.get_by_label("状态")).to_have_value("partial")
    assert language_cookie(page.context) == "zh-hans"
    check_accessibility(page)

    # Dates and numbers follow the language (Django's zh_Hans formats).
    seed = PurchaseOrder.objects.get(number="LIC-2026-0001")
    page.get_by_role("link", name="重置").click()
    row = page.locator("#results tbody tr").filter(has_text="LIC-2026-0001")
    created = seed.created_at
    expect(row.locator("time")).to_have_text(f"{created.year}年{created.month}月{created.day}日")
    expect(row.locator("td").nth(2)).to_have_text("1000")  # English shows 1,000
    total = PurchaseOrder.objects.filter(manufacturer__name="Acme Smart Home").count()
    expect(page.locator("#results-count")).to_have_text(f"{total} 个订单")
    expect(page.get_by_role("navigation", name="分页")).to_contain_text("第 1 页，共")  # noqa: RUF001

    # The choice outlives the session: log out, and the login page is still in Chinese.
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")
    check_accessibility(page)
    page.get_by_label("用户名").fill("acme")
    page.get_by_label("密码").fill("acme-demo-2026")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("采购订单")

    page.get_by_label("语言").select_option(label="English")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Purchase Order")
    assert language_cookie(page.context) == "en"


@pytest.mark.parametrize(
    "language",
    [
        pytest.param("en", id="en"),
        pytest.param("zh-hans", id="zh", marks=pytest.mark.browser_context_args(locale="zh-CN")),
    ],
)
def test_main_pages_look_finished_on_phone_and_desktop(page: Page, language: str) -> None:
    """A browser set to Chinese gets Chinese at once (Accept-Language). Each page is checked
    with axe at both widths and must not scroll sideways; the screenshots are for people."""
    for width_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.goto("/accounts/login/")
        expect(page.locator("html")).to_have_attribute("lang", language)
        check_page_at_width(page, f"look-login-{language}-{width_name}")
    log_in(page, "acme")
    for width_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.reload()
        check_page_at_width(page, f"look-orders-{language}-{width_name}")


def check_page_at_width(page: Page, name: str) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px"
    check_accessibility(page)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
