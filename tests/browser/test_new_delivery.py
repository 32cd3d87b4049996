"""Initiate new delivery in a real browser, walked as acme would on the seed's order: the HTMX
swap under the portal's CSP, the button locked while a request is in flight, the R5 prompt,
and the same form without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from orders.models import Product, PurchaseOrder
from tests.browser.conftest import check_accessibility, log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]

SEED = "LIC-2026-0001"


def open_initiate(page: Page) -> None:
    log_in(page, "acme")
    row = page.locator("tbody tr").filter(has_text=SEED)
    row.get_by_role("link", name="Initiate new delivery").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Initiate new delivery: {SEED}")


def product_label(name: str) -> str:
    product = Product.objects.get(name=name)
    return f"{product.name} ({product.product_id})"


def seed_counters() -> tuple[int, int, int]:
    order = PurchaseOrder.objects.get(number=SEED)
    return order.quantity_delivered, order.new_tokens_delivered, order.new_deliveries.count()


def test_take_delivery_swaps_in_place_and_locks_the_button_in_flight(page: Page) -> None:
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    open_initiate(page)
    expect(page.locator(".available__count")).to_have_text("Available new tokens: 600")
    check_accessibility(page)
    page.evaluate("() => { window.__sameDocument = true; }")

    held: list[Route] = []
    page.route("**/new-delivery/", lambda route: held.append(route))
    page.get_by_label("Product").select_option(label=product_label("Door Sensor DS-1"))
    page.get_by_label("Quantity").fill("250")
    button = page.get_by_role("button", name="Take delivery")
    button.click()
    # While the POST is held in flight the button is disabled; a second click and Enter in
    # the field send nothing more.
    expect(button).to_be_disabled()
    button.click(force=True)
    page.get_by_label("Quantity").press("Enter")
    page.wait_for_timeout(300)
    assert [route.request.method for route in held] == ["POST"]
    held[0].continue_()

    expect(page.locator(".available__count")).to_have_text("Available new tokens: 350")
    messages = page.get_by_role("status")
    expect(messages).to_contain_text("Delivery N001 taken: 250 new tokens for Door Sensor DS-1.")
    expect(messages.get_by_role("link")).to_have_text("New delivery list of Token")
    expect(page.get_by_label("Quantity")).to_have_value("")
    expect(page.get_by_label("Product")).to_have_value(re.compile(r"^\d+$"))
    expect(page.get_by_role("button", name="Take delivery")).to_be_enabled()
    assert page.evaluate("() => window.__sameDocument === true")  # swapped, not reloaded
    page.unroute("**/new-delivery/")

    page.get_by_label("Quantity").fill("abc")
    page.get_by_role("button", name="Take delivery").click()
    expect(page.locator("#id_quantity_error")).to_have_text(
        "Enter a whole number, for example 250."
    )
    expect(page.get_by_label("Quantity")).to_have_attribute("aria-invalid", "true")
    check_accessibility(page)

    page.get_by_label("Quantity").fill("350")
    page.get_by_role("button", name="Take delivery").click()
    expect(page.locator("#no-new-tokens")).to_contain_text(
        "No new token can be applied for on this order."
    )
    expect(page.get_by_role("button", name="Take delivery")).to_have_count(0)
    expect(page.locator(".available__count")).to_have_text("Available new tokens: 0")
    check_accessibility(page)
    assert csp_errors == []
    assert seed_counters() == (600, 600, 2)


def test_without_javascript_the_same_form_takes_delivery_with_a_page_load(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = new_context(java_script_enabled=False).new_page()
    open_initiate(page)
    page.get_by_label("Product").select_option(label=product_label("Motion Sensor MS-1"))
    page.get_by_label("Quantity").fill(" 7 ")
    page.get_by_role("button", name="Take delivery").click()
    expect(page.get_by_role("status")).to_contain_text("Delivery N001 taken: 7 new tokens")
    expect(page.locator(".available__count")).to_have_text("Available new tokens: 593")
    expect(page.get_by_label("Quantity")).to_have_value("")
    assert seed_counters() == (600, 7, 1)
