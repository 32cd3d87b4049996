"""An in-place (HTMX) request that fails is never silent: a stale form (CSRF), a refusal (4xx),
a server error (5xx) and no answer at all (network) each show a clear message in the page's
live region, in the person's language, and leave the form filled in and usable."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Route, expect

from orders.models import Product, PurchaseOrder
from tests.browser.conftest import PageProblems, check_accessibility, log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]

SEED = "LIC-2026-0001"
INITIATE = f"/purchase/orders/{SEED}/new-delivery/"


def fill_take_form(page: Page, quantity: str = "5") -> None:
    product = Product.objects.get(name="Door Sensor DS-1")
    page.locator("#id_product").select_option(value=str(product.pk))
    page.locator("#id_quantity").fill(quantity)


def taken() -> int:
    return PurchaseOrder.objects.get(number=SEED).new_tokens_delivered


def assert_form_usable_and_kept(page: Page, quantity: str = "5") -> None:
    expect(page.locator(".take-form button[type=submit]")).to_be_enabled()
    expect(page.locator("#id_quantity")).to_have_value(quantity)


def test_a_stale_form_after_logging_in_again_elsewhere_says_to_reload(
    page: Page, page_problems: PageProblems
) -> None:
    """The issue's case: Initiate new delivery open in tab A, log out and in again in tab B
    (which rotates the CSRF token), then Take delivery in tab A: a real 403 from Django."""
    page_problems.allow(r"Response Status Error Code 403", r"status of 403")
    log_in(page, "acme")
    page.goto(INITIATE)
    fill_take_form(page)

    other_tab = page.context.new_page()
    other_tab.goto("/purchase/orders/")
    other_tab.locator(".topbar form[action$='/logout/'] button").click()
    log_in(other_tab, "acme")
    other_tab.close()

    page.locator(".take-form button[type=submit]").click()
    notice = page.locator("#messages [data-request-error=csrf]")
    expect(notice).to_contain_text("This page has expired")
    expect(notice).to_contain_text("Reload the page, then try again.")
    assert_form_usable_and_kept(page)
    assert taken() == 0
    check_accessibility(page)

    notice.get_by_role("link", name="Reload the page").click()
    fill_take_form(page)
    page.locator(".take-form button[type=submit]").click()
    expect(page.get_by_role("status")).to_contain_text("Delivery N001 taken")
    assert taken() == 5


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (409, "refused", "The portal could not accept this request."),
        (404, "notfound", "What you asked for was not found"),
        (500, "server", "Something went wrong on our side. What you entered is still here"),
    ],
)
def test_an_error_status_shows_a_message_and_keeps_the_form(
    page: Page, page_problems: PageProblems, status: int, kind: str, words: str
) -> None:
    page_problems.allow(rf"Response Status Error Code {status}", rf"status of {status}")
    log_in(page, "acme")
    page.goto(INITIATE)
    fill_take_form(page)

    def answer(route: Route) -> None:
        if route.request.method == "POST":
            route.fulfill(status=status, content_type="text/html", body="<h1>Error</h1>")
        else:
            route.continue_()

    page.route(f"**{INITIATE}", answer)
    page.locator(".take-form button[type=submit]").click()
    expect(page.locator(f"#messages [data-request-error={kind}]")).to_contain_text(words)
    expect(page.locator("h1")).to_have_text(f"Initiate new delivery: {SEED}")  # nothing swapped
    assert_form_usable_and_kept(page)

    # The form is sent again once the server answers: the delivery is taken, the notice goes.
    page.unroute(f"**{INITIATE}")
    page.locator(".take-form button[type=submit]").click()
    expect(page.get_by_role("status")).to_contain_text("Delivery N001 taken")
    expect(page.locator("#messages [data-request-error]")).to_have_count(0)
    assert taken() == 5


@pytest.mark.browser_context_args(locale="zh-CN")
def test_no_answer_at_all_says_so_in_chinese_and_keeps_the_form(
    page: Page, page_problems: PageProblems
) -> None:
    # htmx logs both events it raises for a request that got no answer; Chromium the failure.
    page_problems.allow(r"^htmx:sendError", r"^htmx:afterRequest", r"ERR_INTERNET_DISCONNECTED")
    log_in(page, "acme")
    page.goto(INITIATE)
    fill_take_form(page)
    page.route(
        f"**{INITIATE}",
        lambda route: (
            route.abort("internetdisconnected")
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    page.locator(".take-form button[type=submit]").click()
    notice = page.locator("#messages [data-request-error=network]")
    expect(notice).to_contain_text(re.compile("无法连接"))
    assert_form_usable_and_kept(page)
    assert taken() == 0
    check_accessibility(page)
