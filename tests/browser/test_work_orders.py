"""Work orders in a real browser: submit a tool request, read it back, in both languages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import check_accessibility, log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]


def test_acme_requests_the_refurbishment_tool_in_english_and_reads_it_in_chinese(
    page: Page,
) -> None:
    log_in(page, "acme")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Work orders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Work orders")
    check_accessibility(page)

    page.get_by_role("link", name="Submit a work order").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Submit a work order")
    page.get_by_label("Description").fill("")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".field__error").first).to_be_visible()
    check_accessibility(page)  # the form with its errors

    page.get_by_label("Request refurbishment tool").check()
    page.get_by_label("Purchase order").fill("LIC-2026-0001")
    page.get_by_label("Description").fill("Please send the tool for our WB3S line.")
    page.get_by_label("Contact").fill("Li Wei, +86 21 5555 0100")
    page.get_by_role("button", name="Submit").click()
    expect(page).to_have_url(re.compile(r"/work-orders/\d+/$"))
    expect(page.get_by_role("status")).to_contain_text("was submitted")
    check_accessibility(page)

    page.get_by_label("Language").select_option(label="简体中文")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(re.compile(r"/work-orders/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("工单")
    expect(page.get_by_text("申请翻新工具").first).to_be_visible()
    check_accessibility(page)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="工单").click()
    expect(page.locator(".badge").first).to_have_text("待分配")
    check_accessibility(page)
