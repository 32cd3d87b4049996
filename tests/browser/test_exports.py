"""The New delivery list of Token's filters and export buttons in a real browser: English and
Chinese, 390 and 1366 px, axe clean, no console errors (``new_context`` fails on any)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from tests.browser.conftest import check_accessibility, log_in, mark_document, still_same_document
from tests.browser.test_order_page import in_each_language_at_each_width
from tests.deliveries.conftest import take
from tokens.models import TokenFile

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]


@pytest.fixture
def deliveries() -> list[NewDelivery]:
    """Three deliveries of the seed order, two of its first product; their files FAILED, so
    that the list does not poll (no worker makes them here)."""
    order = PurchaseOrder.objects.get(number="LIC-2026-0001")
    user = User.objects.get(username="acme")
    first, second = order.products.order_by("name")[:2]
    made = [
        take(order, user, 3, product_id=first.pk).delivery,
        take(order, user, 4, product_id=second.pk).delivery,
        take(order, user, 5, product_id=first.pk).delivery,
    ]
    TokenFile.objects.filter(delivery__in=made).update(status=TokenFile.Status.FAILED)
    return made


@in_each_language_at_each_width
def test_the_filtered_new_delivery_list_exports_its_rows(
    page: Page,
    language: str,
    viewport: dict[str, int],
    deliveries: list[NewDelivery],
    tmp_path: Path,
) -> None:
    page.set_viewport_size(viewport)
    log_in(page, "acme")
    page.goto("/purchase/new-deliveries/")
    mark_document(page)
    product = deliveries[0].product
    page.locator("#id_product").select_option(str(product.pk))
    expect(page).to_have_url(re.compile(rf"product={product.pk}"))
    expect(page.locator("#results tbody tr")).to_have_count(2)
    assert still_same_document(page), "a filter reloaded the page"
    on_screen = [text.split()[0] for text in page.locator("#results tbody th").all_inner_texts()]
    assert on_screen == ["N003", "N001"]
    check_accessibility(page)

    with page.expect_download() as download:
        page.locator(".exports").get_by_role("link", name="CSV").click()
    path = tmp_path / "deliveries.csv"
    download.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == ("Delivery number" if language == "en" else "交付编号")
    assert [(row[0], row[1], row[5]) for row in rows[1:]] == [
        ("N003", "LIC-2026-0001", "5"),
        ("N001", "LIC-2026-0001", "3"),
    ]
