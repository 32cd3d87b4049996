"""Activity in a real browser: sentences, not codes; filters kept in the URL; both languages,
a phone's width and a desktop's, axe clean, no console errors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from audit.services import audit_record
from orders.models import PurchaseOrder
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    check_accessibility,
    log_in,
    mark_document,
    still_same_document,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]


def record_a_refusal() -> None:
    """What deliveries.services records when a take asks for more than is available."""
    order = PurchaseOrder.objects.get(number="LIC-2026-0001")
    product = order.products.first()
    assert product is not None
    audit_record(
        action="delivery.refused",
        actor=User.objects.get(username="acme"),
        details={
            "order_id": order.pk,
            "product_id": product.pk,
            "quantity": 5000,
            "reason": "quantity_exceeds_available",
        },
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
def test_acme_reads_and_filters_its_activity(page: Page, viewport: dict[str, int]) -> None:
    record_a_refusal()
    page.set_viewport_size(viewport)
    log_in(page, "acme")
    page.goto("/activity/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Activity")
    results = page.locator("#results")
    refusal = results.locator("tbody tr").filter(has_text="New delivery refused")
    expect(refusal).to_contain_text(
        "on order LIC-2026-0001 was refused: more new tokens were asked for than are available."
    )
    expect(refusal.get_by_role("link", name="LIC-2026-0001")).to_have_attribute(
        "href", "/purchase/orders/LIC-2026-0001/"
    )
    expect(results).not_to_contain_text("delivery.refused")
    expect(results).not_to_contain_text("order_id")
    check_accessibility(page)

    mark_document(page)
    page.get_by_label("Event", exact=True).select_option(label="Logged in")
    expect(page).to_have_url(re.compile(r"action=auth\.logged_in"))
    expect(results.locator("tbody tr").first).to_contain_text("Logged in.")
    expect(results).not_to_contain_text("New delivery refused")
    page.get_by_label("Person", exact=True).select_option(label="acme")
    expect(page).to_have_url(re.compile(r"person=\d+"))
    expect(page).to_have_url(re.compile(r"action=auth\.logged_in"))
    assert still_same_document(page), "a filter reloaded the page instead of updating it"
    # The export buttons take the rows of the filters on screen.
    for name, extension in (("CSV", "csv"), ("Excel (.xlsx)", "xlsx")):
        expect(results.get_by_role("link", name=name, exact=True)).to_have_attribute(
            "href", re.compile(rf"^/activity/export\.{extension}\?.*person=\d+.*action=auth")
        )

    page.get_by_label("From", exact=True).fill("2026-11-30")
    page.get_by_label("To", exact=True).fill("2026-11-01")
    page.get_by_label("To", exact=True).dispatch_event("change")
    expect(page.get_by_role("alert")).to_contain_text("The end date is before the start date.")
    check_accessibility(page)

    # The URL holds the filters: a reload (or a shared link) shows the same rows.
    page.reload()
    expect(page.get_by_label("Event", exact=True)).to_have_value("auth.logged_in")
    expect(page.get_by_role("alert")).to_contain_text("The end date is before the start date.")

    page.get_by_label("Language").select_option(label="简体中文")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.goto("/activity/")
    expect(page.get_by_role("heading", level=1)).to_have_text("操作记录")
    expect(page.locator("#results")).to_contain_text("申请的新 Token 数量超过可用数量")
    expect(page.locator("#results")).to_contain_text("已登录。")
    check_accessibility(page)
