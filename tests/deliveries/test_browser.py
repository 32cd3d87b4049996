"""The Initiate new delivery page in a real browser (Debian's Chromium): the HTMX swap under the
portal's CSP, the button locked while a request is in flight, and the same form without
JavaScript."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest
from django.db import connection
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

from orders.models import PurchaseOrder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """A browser for this test only. Playwright's sync API runs an event loop in this thread,
    which makes Django refuse database calls here while it runs, and runs the test in a
    context of its own, where Django opens a connection of its own: the permission ends with
    the test, and that connection is closed before the test database is dropped."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
        yield browser
        browser.close()
        connection.close()


def log_in(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("acme")
    page.get_by_label("Password").fill("secret-pass-123")
    page.get_by_role("button", name=re.compile("Log in", re.I)).click()
    page.wait_for_url(re.compile(r"/purchase/orders/"))


def open_initiate(page: Page, live_server: LiveServer, order: PurchaseOrder) -> None:
    log_in(page, live_server)
    page.get_by_role("link", name="Initiate new delivery").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(order.number)


def test_take_delivery_with_htmx_swaps_in_place_and_locks_the_button_in_flight(
    chromium: Browser, live_server: LiveServer, seed_order: PurchaseOrder, acme_user: object
) -> None:
    page = chromium.new_page()
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    open_initiate(page, live_server, seed_order)
    expect(page.locator("#available-new-tokens")).to_contain_text("Available new tokens: 600")

    held: list[Route] = []
    page.route("**/new-delivery/", lambda route: held.append(route))
    page.get_by_label("Product").select_option(index=1)
    page.get_by_label("Quantity").fill("250")
    button = page.get_by_role("button", name="Take delivery")
    button.click()
    # While the POST is held in flight: the button is disabled, a second click and Enter do
    # nothing, and nothing else is sent.
    expect(button).to_be_disabled()
    button.click(force=True)
    page.get_by_label("Quantity").press("Enter")
    page.wait_for_timeout(300)
    assert len(held) == 1
    assert held[0].request.method == "POST"
    held[0].continue_()

    expect(page.locator("#available-new-tokens")).to_contain_text("Available new tokens: 350")
    expect(page.locator("#messages")).to_contain_text("Delivery N001 taken: 250 new tokens")
    expect(page.locator("#messages").get_by_role("link")).to_have_text("New delivery list of Token")
    expect(page.get_by_label("Quantity")).to_have_value("")
    expect(page.get_by_role("button", name="Take delivery")).to_be_enabled()
    assert page.url.endswith(f"/orders/{seed_order.number}/new-delivery/")  # no page load
    page.unroute("**/new-delivery/")

    page.get_by_label("Quantity").fill("abc")
    page.get_by_role("button", name="Take delivery").click()
    expect(page.locator("#id_quantity_error")).to_have_text(
        "Enter a whole number, for example 250."
    )
    page.get_by_label("Quantity").fill("350")
    page.get_by_role("button", name="Take delivery").click()
    expect(page.locator("#no-new-tokens")).to_contain_text(
        "No new token can be applied for on this order."
    )
    expect(page.get_by_role("button", name="Take delivery")).to_have_count(0)
    assert csp_errors == []
    seed_order.refresh_from_db()
    assert seed_order.new_tokens_delivered == 600
    assert seed_order.new_deliveries.count() == 2


def test_without_javascript_the_same_form_takes_delivery_with_a_page_load(
    chromium: Browser, live_server: LiveServer, seed_order: PurchaseOrder, acme_user: object
) -> None:
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    open_initiate(page, live_server, seed_order)
    page.get_by_label("Product").select_option(index=1)
    page.get_by_label("Quantity").fill(" 7 ")
    page.get_by_role("button", name="Take delivery").click()
    expect(page.locator("#messages")).to_contain_text("Delivery N001 taken: 7 new tokens")
    expect(page.locator("#available-new-tokens")).to_contain_text("Available new tokens: 593")
    expect(page.get_by_label("Quantity")).to_have_value("")
    context.close()
    seed_order.refresh_from_db()
    assert seed_order.new_tokens_delivered == 7
