"""The order page, the Purchase Order list's sorting and page size, and the export buttons, in a
real browser: English and Chinese, a phone (390 px) and a laptop (1366 px), axe clean, no
console errors (the ``new_context`` fixture fails a test on any)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from orders.models import PurchaseOrder
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    check_accessibility,
    check_main_table_controls,
    log_in,
    mark_document,
    still_same_document,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]

LANGUAGES = [
    pytest.param("en", id="en"),
    pytest.param("zh-hans", id="zh", marks=pytest.mark.browser_context_args(locale="zh-CN")),
]
WIDTHS = [pytest.param(PHONE, id="390"), pytest.param(DESKTOP, id="1366")]


def in_each_language_at_each_width(test: Any) -> Any:
    """English and Chinese, on a phone and at 1366 px."""
    return pytest.mark.parametrize("language", LANGUAGES)(
        pytest.mark.parametrize("viewport", WIDTHS)(test)
    )


def open_purchase_orders(page: Page, viewport: dict[str, int]) -> None:
    page.set_viewport_size(viewport)
    log_in(page, "acme")


TEXT = {
    "en": {"order": "Order MOD-2026-0001", "ordered": "Ordered", "rows": "Rows per page"},
    "zh-hans": {"order": "订单 MOD-2026-0001", "ordered": "订购数量", "rows": "每页行数"},
}


def acme_orders() -> list[PurchaseOrder]:
    return list(PurchaseOrder.objects.filter(manufacturer__name="Acme Smart Home"))


def order_numbers(page: Page) -> list[str]:
    return [text.split()[0] for text in page.locator("#results tbody th").all_inner_texts()]


def no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


@in_each_language_at_each_width
def test_the_order_number_opens_the_order_page(
    page: Page, language: str, viewport: dict[str, int]
) -> None:
    open_purchase_orders(page, viewport)
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.get_by_role("search").locator("#id_q").fill("MOD-2026-0001")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    page.locator("#results tbody th").get_by_role("link", name="MOD-2026-0001").click()
    expect(page).to_have_url(re.compile(r"/purchase/orders/MOD-2026-0001/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(TEXT[language]["order"])
    order = PurchaseOrder.objects.get(number="MOD-2026-0001")
    # The usage bar is one image named by its numbers, which are also written out beside it.
    usage = page.get_by_role("img", name=re.compile(f"{order.quantity_ordered:,}"))
    expect(usage).to_be_visible()
    expect(page.locator(".usage__legend")).to_contain_text(f"{order.available_new_tokens:,}")
    no_sideways_scroll(page)
    if viewport == DESKTOP:
        check_main_table_controls(page, f"order-page-{language}")
    check_accessibility(page)


@in_each_language_at_each_width
def test_sorting_and_page_size_update_the_list_in_place_and_back_works(
    page: Page, language: str, viewport: dict[str, int]
) -> None:
    open_purchase_orders(page, viewport)
    mark_document(page)
    orders = acme_orders()
    by_ordered = [o.number for o in sorted(orders, key=lambda o: (-o.quantity_ordered, -o.pk))]
    if viewport == DESKTOP:
        # A column heading is a link; a keyboard reaches it and Enter sorts, most first.
        heading = page.locator("#sort-ordered")
        heading.focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"sort=-ordered"))
        expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "descending")
        expect(page.locator("#id_sort")).to_have_value("-ordered")  # the menu follows
        page.locator("#sort-ordered").click()  # again: the other way round
        expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
        expect(page).to_have_url(re.compile(r"sort=ordered"))
        page.go_back()
        expect(page).to_have_url(re.compile(r"sort=-ordered"))
    else:
        # On a phone the table is a list of cards: the Sort by menu does the same.
        page.locator("#id_sort").select_option("-ordered")
        expect(page).to_have_url(re.compile(r"sort=-ordered"))
    expect(page.locator("#results tbody th").first).to_contain_text(by_ordered[0])
    assert order_numbers(page) == by_ordered[:25]

    page.get_by_label(TEXT[language]["rows"]).select_option("50")
    expect(page.locator("#results tbody tr")).to_have_count(50)
    expect(page).to_have_url(re.compile(r"per_page=50"))
    assert order_numbers(page) == by_ordered[:50]
    assert still_same_document(page), "sorting or the page size reloaded the page"
    no_sideways_scroll(page)
    check_accessibility(page)
    page.go_back()
    expect(page.locator("#results tbody tr")).to_have_count(25)


@in_each_language_at_each_width
def test_the_export_buttons_download_the_rows_on_screen(
    page: Page, language: str, viewport: dict[str, int], tmp_path: Path
) -> None:
    open_purchase_orders(page, viewport)
    page.get_by_role("search").locator("#id_q").fill("WB3S")
    expect(page).to_have_url(re.compile(r"q=WB3S"))
    page.get_by_label(TEXT[language]["rows"]).select_option("100")
    expect(page).to_have_url(re.compile(r"per_page=100"))
    on_screen = order_numbers(page)
    assert on_screen, "the demo data has module orders of WB3S"
    exports = page.locator(".exports")
    check_accessibility(page)

    with page.expect_download() as csv_download:
        exports.get_by_role("link", name="CSV").click()
    path = tmp_path / "orders.csv"
    csv_download.value.save_as(path)
    assert csv_download.value.suggested_filename == "purchase-orders.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == ("Order number" if language == "en" else "订单号")
    assert [row[0] for row in rows[1:]] == on_screen

    with page.expect_download() as xlsx_download:
        exports.get_by_role("link", name=re.compile(r"\.xlsx")).click()
    path = tmp_path / "orders.xlsx"
    xlsx_download.value.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == on_screen
