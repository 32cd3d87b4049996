"""The Purchase Order page in a real browser, walked as acme (and globex) would."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.conf import settings
from playwright.sync_api import BrowserContext, Page, Route, expect

from accounts.models import Manufacturer
from orders.models import PurchaseOrder
from orders.selectors import purchase_order_list
from tests.browser.conftest import (
    check_accessibility,
    log_in,
    mark_document,
    still_same_document,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]


def acme_orders(**filters: object) -> int:
    orders = PurchaseOrder.objects.filter(manufacturer__name="Acme Smart Home", **filters)
    return orders.distinct().count()


def pages_for(count: int) -> int:
    return -(-count // settings.PURCHASE_ORDERS_PER_PAGE)


def row_cells(page: Page, number: str) -> list[str]:
    """The data cells of the order's row (its header cell holds the order and contract numbers)."""
    row = page.locator("#results tbody tr").filter(
        has=page.get_by_role("rowheader", name=re.compile(rf"^{re.escape(number)}\b"))
    )
    return [text.strip() for text in row.locator("td").all_inner_texts()]


def order_numbers(page: Page) -> list[str]:
    return [text.split()[0] for text in page.locator("#results tbody th").all_inner_texts()]


def test_acme_logs_in_and_sees_its_purchase_orders(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/"))
    check_accessibility(page)
    page.get_by_label("Username").fill("acme")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    check_accessibility(page)  # the error state too

    log_in(page, "acme")
    expect(page).to_have_title("Purchase Order · Refurb Portal")
    expect(page.get_by_role("heading", level=1)).to_have_text("Purchase Order")
    expect(page.locator(".topbar__company")).to_have_text("Acme Smart Home")
    expect(page.locator("#results-count")).to_have_text(f"{acme_orders()} orders")
    # The seed's example: 1000 ordered, 600 delivered, none taken yet, 600 available.
    cells = row_cells(page, "LIC-2026-0001")
    assert cells[2:6] == ["1,000", "600", "0", "600"]
    seed_row = page.locator("tbody tr").filter(has_text="LIC-2026-0001")
    expect(seed_row.get_by_role("link", name="Initiate new delivery")).to_have_attribute(
        "href", "/purchase/orders/LIC-2026-0001/new-delivery/"
    )
    check_accessibility(page)


def test_filters_and_search_update_the_table_in_place(page: Page) -> None:
    log_in(page, "acme")
    mark_document(page)

    page.get_by_label("Order type").select_option(label="Module order")
    expect(page.locator("#results-count")).to_have_text(
        f"{acme_orders(order_type='module')} orders"
    )
    expect(page).to_have_url(re.compile(r"order_type=module"))
    types = page.locator("#results tbody td.table__type").all_inner_texts()
    assert types
    assert all(text.startswith("Module order") for text in types)
    # Screen readers hear the new count from a live region that stays on the page.
    expect(page.locator("#results-status")).to_have_text(
        f"{acme_orders(order_type='module')} orders"
    )
    check_accessibility(page)

    page.get_by_label("Search").fill("MOD-2026-0001")  # typing searches after a short pause
    expect(page.locator("#results-count")).to_have_text("1 order")
    assert order_numbers(page) == ["MOD-2026-0001"]

    page.get_by_label("Search").fill("no such order")
    expect(page.get_by_text("No order matches these filters.")).to_be_visible()
    check_accessibility(page)
    assert still_same_document(page), "a filter reloaded the page instead of updating it"

    with page.expect_navigation():  # a plain link: a page load (slow when the machine is busy)
        page.get_by_role("link", name="Show all orders").click()
    expect(page.locator("#results-count")).to_have_text(f"{acme_orders()} orders")


def test_paging_keeps_the_filters_and_the_document(page: Page) -> None:
    total = acme_orders()
    assert pages_for(total) >= 2, "the demo data should fill more than one page"
    log_in(page, "acme")
    mark_document(page)
    pagination = page.get_by_role("navigation", name="Pages")
    expect(pagination).to_contain_text(f"Page 1 of {pages_for(total)}")

    pagination.get_by_role("link", name="Next").click()
    expect(pagination).to_contain_text(f"Page 2 of {pages_for(total)}")
    expect(page).to_have_url(re.compile(r"[?&]page=2"))
    assert "LIC-2026-0001" not in order_numbers(page)

    # A filter starts again from page 1, and paging then keeps the filter.
    licenses = acme_orders(order_type="license")
    assert pages_for(licenses) >= 2, "the demo data should fill two pages of license orders"
    page.get_by_label("Order type").select_option(label="Device license order")
    expect(page.locator("#results-count")).to_have_text(f"{licenses} orders")
    expect(pagination).to_contain_text(f"Page 1 of {pages_for(licenses)}")
    pagination.get_by_role("link", name="Next").click()
    expect(pagination).to_contain_text(f"Page 2 of {pages_for(licenses)}")
    expect(page).to_have_url(re.compile(r"order_type=license.*page=2"))
    types = page.locator("#results tbody td.table__type").all_inner_texts()
    assert types
    assert {text.strip() for text in types} == {"Device license order"}
    assert still_same_document(page)
    check_accessibility(page)

    page.go_back()  # the pushed URLs make Back work too
    expect(page).not_to_have_url(re.compile(r"page=2"))
    expect(pagination).to_contain_text(f"Page 1 of {pages_for(licenses)}")


def test_keyboard_alone_searches_and_pages(page: Page) -> None:
    log_in(page, "acme")
    total = acme_orders()

    def move_focus_to(selector: str, key: str = "Tab", limit: int = 120) -> None:
        for _ in range(limit):
            page.keyboard.press(key)
            if page.evaluate("s => document.activeElement.matches(s)", selector):
                has_ring = page.evaluate(
                    """() => { const s = getComputedStyle(document.activeElement);
                               return s.outlineStyle !== 'none' || s.boxShadow !== 'none'; }"""
                )
                assert has_ring, f"{selector} has no visible focus indicator"
                return
        raise AssertionError(f"{key} never reached {selector}")

    move_focus_to(".skip-link")
    page.keyboard.press("Enter")  # the skip link jumps past the header
    expect(page.locator("main")).to_be_focused()
    move_focus_to("a[rel=next]")
    page.keyboard.press("Enter")
    pagination = page.get_by_role("navigation", name="Pages")
    expect(pagination).to_contain_text(f"Page 2 of {pages_for(total)}")
    # The link that had focus was replaced: focus goes to the updated results, not the top.
    expect(page.locator("#results")).to_be_focused()
    move_focus_to("a[rel=prev]")
    page.keyboard.press("Enter")
    expect(pagination).to_contain_text(f"Page 1 of {pages_for(total)}")

    move_focus_to("#id_q", key="Shift+Tab")  # back from the results into the filter form
    page.keyboard.type("LIC-2026-0001")
    page.keyboard.press("Enter")
    expect(page.locator("#results-count")).to_have_text("1 order")
    expect(page.locator("#id_q")).to_be_focused()
    move_focus_to(".filters__actions a")  # Reset: a plain link back to every order
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/purchase/orders/$"))
    expect(page.locator("#results-count")).to_have_text(f"{total} orders")


def test_globex_cannot_see_or_open_acme_orders(
    page: Page, new_context: Callable[..., BrowserContext]
) -> None:
    log_in(page, "acme")
    expect(page.locator("#results tbody th").first).to_contain_text("LIC-2026-0001")

    globex = new_context().new_page()
    log_in(globex, "globex")
    expect(globex.locator(".topbar__company")).to_have_text("Globex Devices")
    numbers = order_numbers(globex)
    assert numbers
    assert all(number.startswith("GLX-") for number in numbers)
    globex.get_by_label("Search").fill("LIC-2026-0001")
    expect(globex.get_by_text("No order matches these filters.")).to_be_visible()
    # The order's own pages answer 404 to globex: test_new_delivery.py's walk checks them, with
    # a delivery and its file on the order.
    globex.goto("/purchase/orders/?q=LIC-2026-0001")
    expect(globex.locator("#results-count")).to_have_text("0 orders")

    page.reload()  # acme's own session is untouched by globex's
    expect(page.locator("#results tbody th").first).to_contain_text("LIC-2026-0001")


def test_the_same_flow_works_without_javascript(new_context: Callable[..., BrowserContext]) -> None:
    page = new_context(java_script_enabled=False).new_page()
    total = acme_orders()
    log_in(page, "acme")
    expect(page.locator("#results-count")).to_have_text(f"{total} orders")

    pagination = page.get_by_role("navigation", name="Pages")
    pagination.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"\?page=2$"))
    expect(pagination).to_contain_text(f"Page 2 of {pages_for(total)}")

    page.get_by_label("Order type").select_option(label="Module order")
    page.get_by_label("Search").fill("Smart Plug")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"order_type=module"))
    matching = acme_orders(order_type="module", products__name__icontains="Smart Plug")
    assert matching > 0
    expect(page.locator("#results-count")).to_have_text(f"{matching} orders")

    # Language switching needs no script either: the button submits the form.
    page.get_by_label("Language").select_option(value="zh-hans")
    page.get_by_role("button", name="Switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(re.compile(r"order_type=module"))
    expect(page.get_by_role("heading", level=1)).to_have_text("采购订单")


def test_back_restores_the_filters_with_the_list(page: Page) -> None:
    """Back asks the server for the whole page (htmx keeps no snapshot of its own, whose
    typed-in values would be lost), so the filters show what the list shows."""
    log_in(page, "acme")
    box = page.get_by_label("Search")
    for query in ("LIC-2026-0001", "MOD-2026-0001"):
        box.fill(query)
        page.get_by_role("button", name="Search").click()
        expect(page).to_have_url(re.compile(rf"q={query}"))
        expect(page.locator("#results tbody th").first).to_contain_text(query)

    page.go_back()
    expect(page).to_have_url(re.compile(r"q=LIC-2026-0001"))
    expect(page.get_by_label("Search")).to_have_value("LIC-2026-0001")
    expect(page.locator("#results tbody th").first).to_contain_text("LIC-2026-0001")
    assert all(number == "LIC-2026-0001" for number in order_numbers(page))
    expect(page.get_by_role("heading", level=1)).to_have_text("Purchase Order")


def test_sorting_right_after_a_search_sorts_the_searched_rows(page: Page) -> None:
    """The trial's case: search, wait, click a sortable heading. Leaving the search box fired
    the form's change, a second request for the search already shown, racing the sort's; when
    the sort's answer came second it went into the #results the search's answer had replaced
    (rows left unsorted, htmx:oobErrorNoTarget for #id_sort). The sort's answer is held here
    until any such request has settled: the rows come sorted, the Sort by menu follows, and no
    console error (page_problems)."""
    log_in(page, "acme")
    mark_document(page)
    search = page.get_by_label("Search")
    search.fill("WB3S")  # an input event only: the change comes when the box loses focus
    expect(page).to_have_url(re.compile(r"q=WB3S"))
    matching = purchase_order_list(
        manufacturer=Manufacturer.objects.get(name="Acme Smart Home"), search="WB3S"
    ).count()
    expect(page.locator("#results-count")).to_have_text(f"{matching} orders")
    searched = order_numbers(page)

    held: list[Route] = []
    searches: list[str] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route(re.compile(r"/purchase/orders/\?.*sort=-available"), hold)
    page.on(
        "requestfinished",
        lambda request: searches.append(request.url) if "sort=-" not in request.url else None,
    )
    page.locator("#sort-available").click()
    for _ in range(200):  # until the heading's request is held (a bound, not a measure)
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the sort heading sent no request"
    page.evaluate("() => fetch('/static/js/portal.js')")  # a round trip after the click
    held[0].continue_()

    expect(page).to_have_url(re.compile(r"sort=-available"))
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#id_sort")).to_have_value("-available")
    available = {number: int(row_cells(page, number)[5].replace(",", "")) for number in searched}
    shown = order_numbers(page)
    assert sorted(shown) == sorted(searched)
    assert [available[number] for number in shown] == sorted(available.values(), reverse=True)
    assert len(set(available.values())) > 1, "the demo's WB3S orders should differ"
    assert not [url for url in searches if "/purchase/orders/?" in url], searches
    assert still_same_document(page)
