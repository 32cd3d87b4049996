"""The API's pages in a real browser: keys and webhooks (axe, both languages), and the API docs
page working under the strict CSP with assets served from the installed package."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import check_accessibility, log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]


def test_acme_makes_a_key_and_an_endpoint_in_english_and_chinese(page: Page) -> None:
    log_in(page, "acme")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API keys")
    page.get_by_label("Name", exact=True).fill("Line 3 MES")
    page.get_by_label("Take new deliveries").check()
    page.get_by_role("button", name="Make key").click()
    key = page.get_by_label("Your new API key")
    expect(key).to_have_value(re.compile(r"^rpk_[0-9a-f]{8}_"))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status").filter(has_text="Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key.input_value()
    check_accessibility(page)
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("URL").fill("http://127.0.0.1:9/hooks")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.locator(".field__error").first).to_be_visible()  # no event chosen
    check_accessibility(page)
    page.get_by_label("Language").select_option(label="简体中文")
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhook")
    check_accessibility(page)


def test_the_api_docs_render_under_the_csp(page: Page) -> None:
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Refurb Portal API")
    expect(page.get_by_text("/api/v1/orders/{number}/deliveries").first).to_be_visible()
    assert violations == []
