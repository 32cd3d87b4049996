"""Initiate new delivery in a real browser, walked as acme would on the seed's order: the HTMX
swap under the portal's CSP, the button locked while a request is in flight, the R5 prompt;
the whole walk from logging in to the downloaded token file, made by a real Celery worker,
with globex shut out of all of it; a double click; and the same walk without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Request, Route, expect

from deliveries.models import NewDelivery
from orders.models import Product, PurchaseOrder
from tests.browser.conftest import (
    check_accessibility,
    log_in,
    mark_document,
    still_same_document,
    token_inserts_held,
)
from tests.celery_worker import CeleryWorker
from tests.tokens.conftest import csv_rows
from tokens.generation import AUTH_KEY_LENGTH, CSV_HEADER, UUID_LENGTH
from tokens.models import TokenDownload, TokenFile

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]

SEED = "LIC-2026-0001"
# The list polls every 2 s; a file of a few hundred tokens is made well within a second.
FILE_READY_TIMEOUT_MS = 30_000


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


def deliveries_of_seed() -> list[tuple[str, str, int]]:
    deliveries = NewDelivery.objects.filter(order__number=SEED).select_related("product")
    return [(d.number, d.product.name, d.quantity) for d in deliveries.order_by("pk")]


def assert_token_csv(path: Path, *, delivery: NewDelivery, quantity: int) -> None:
    """The downloaded file: the header and one well-formed row per token, none repeated."""
    rows = csv_rows(path.read_bytes())
    assert len(rows) == 1 + quantity
    assert tuple(rows[0]) == CSV_HEADER
    uuid = re.compile(rf"[a-z0-9]{{{UUID_LENGTH}}}")
    auth_key = re.compile(rf"[A-Za-z0-9]{{{AUTH_KEY_LENGTH}}}")
    for row in rows[1:]:
        assert row[2:] == [SEED, delivery.number, delivery.product.product_id], row
        assert uuid.fullmatch(row[0]), row
        assert auth_key.fullmatch(row[1]), row
    assert len({row[0] for row in rows[1:]}) == quantity
    assert len({row[1] for row in rows[1:]}) == quantity


def test_take_delivery_swaps_in_place_and_locks_the_button_in_flight(page: Page) -> None:
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    open_initiate(page)
    expect(page.locator(".available__count")).to_have_text("Available new tokens: 600")
    check_accessibility(page)
    mark_document(page)

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
    assert still_same_document(page), "Take delivery reloaded the page"
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


def test_acme_walks_from_logging_in_to_the_downloaded_token_file_and_globex_sees_none_of_it(
    page: Page, new_context: Callable[..., BrowserContext], token_worker: CeleryWorker
) -> None:
    log_in(page, "acme")
    page.get_by_label("Order type").select_option(label="Device license order")
    page.get_by_label("Search").fill(SEED)
    expect(page.locator("#results-count")).to_have_text("1 order")
    page.get_by_role("link", name="Initiate new delivery").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Initiate new delivery: {SEED}")

    mark_document(page)
    page.get_by_label("Product").select_option(label=product_label("Door Sensor DS-1"))
    page.get_by_label("Quantity").fill("250")
    # The seed's original deliveries' token files are left unsent here (conftest's demo_data),
    # so the job held below is the new delivery's.
    assert not original_files_sent()
    with token_inserts_held():
        page.get_by_role("button", name="Take delivery").click()
        expect(page.locator(".available__count")).to_have_text("Available new tokens: 350")
        assert still_same_document(page), "Take delivery reloaded the page"
        assert deliveries_of_seed() == [("N001", "Door Sensor DS-1", 250)]
        delivery = NewDelivery.objects.select_related("product").get(order__number=SEED)

        page.get_by_role("status").get_by_role("link", name="New delivery list of Token").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            f"New delivery list of Token: {SEED}"
        )
        row = page.locator(f"#delivery-{delivery.pk}")
        expect(row.locator("th")).to_have_text("N001")
        # The worker has claimed the job and waits at its first insert.
        expect(row.locator(".badge")).to_have_text("Generating")
        expect(row.get_by_role("progressbar")).to_be_visible()
        expect(row.get_by_role("link", name="CSV")).to_have_count(0)
        check_accessibility(page)
        mark_document(page)

        # Asked for before it is ready, the file is refused with a page that says why.
        early = page.context.new_page()
        response = early.goto(f"/purchase/new-deliveries/{delivery.pk}/download/")
        assert response is not None
        assert response.status == 409
        expect(early.get_by_role("heading", level=1)).to_have_text("Token file not available")
        check_accessibility(early)
        early.close()

    # The job goes on; the list's polling shows the file ready, without a page load.
    expect(row.locator(".badge")).to_have_text("Ready", timeout=FILE_READY_TIMEOUT_MS)
    expect(row.get_by_role("progressbar")).to_have_count(0)
    assert still_same_document(page), "the list reloaded instead of updating in place"
    # ...and screen readers hear it from a live region that stays on the page.
    expect(page.locator("#deliveries-status")).to_have_text("N001: Ready.")
    check_accessibility(page)

    with page.expect_download() as download_info:
        row.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"{SEED}-N001-tokens.csv"
    assert_token_csv(download.path(), delivery=delivery, quantity=250)
    assert TokenDownload.objects.filter(token_file__delivery=delivery).count() == 1

    # R12: after the first download the next page says how to get the refurbishment tool.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Purchase").click()
    notice = page.locator(".tool-notice")
    expect(notice).to_contain_text("you need the refurbishment tool")
    check_accessibility(page)
    notice.get_by_role("link", name="Request the refurbishment tool").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Submit a work order")
    expect(page.get_by_label("Request refurbishment tool")).to_be_checked()
    expect(page.get_by_label("Purchase order")).to_have_value(SEED)

    globex = new_context().new_page()
    log_in(globex, "globex")
    for url in (
        f"/purchase/orders/{SEED}/new-delivery/",
        f"/purchase/orders/{SEED}/new-deliveries/",
    ):
        response = globex.goto(url)
        assert response is not None
        assert response.status == 404, url
        expect(globex.get_by_text(SEED)).to_have_count(0)
    # Fetched, not opened: a file that did come would be a download, not a page.
    response = globex.request.get(f"/purchase/new-deliveries/{delivery.pk}/download/")
    assert response.status == 404
    assert "attachment" not in response.headers.get("content-disposition", "")
    globex.goto("/purchase/new-deliveries/")
    expect(globex.get_by_text("No new deliveries of Token yet.")).to_be_visible()
    assert TokenDownload.objects.count() == 1


def original_files_sent() -> bool:
    """Whether a job of an original delivery's token file was sent to the worker."""
    return TokenFile.objects.filter(
        original_delivery__isnull=False, enqueued_at__isnull=False
    ).exists()


def test_a_double_click_or_a_form_sent_twice_takes_one_delivery(
    page: Page, new_context: Callable[..., BrowserContext]
) -> None:
    open_initiate(page)
    page.get_by_label("Product").select_option(label=product_label("Door Sensor DS-1"))
    page.get_by_label("Quantity").fill("100")
    page.get_by_role("button", name="Take delivery").dblclick()
    expect(page.locator(".available__count")).to_have_text("Available new tokens: 500")
    expect(page.locator("#messages")).to_contain_text("Delivery N001 taken: 100 new tokens")
    page.wait_for_load_state("networkidle")  # a second request, had one gone, is answered too
    assert deliveries_of_seed() == [("N001", "Door Sensor DS-1", 100)]

    # Without JavaScript nothing holds the button back.
    plain = new_context(java_script_enabled=False).new_page()
    takes: list[Request] = []
    plain.on("request", lambda r: takes.append(r) if r.url.endswith("/new-delivery/") else None)
    open_initiate(plain)
    plain.get_by_label("Product").select_option(label=product_label("Motion Sensor MS-1"))
    plain.get_by_label("Quantity").fill("50")
    plain.get_by_role("button", name="Take delivery").dblclick()
    expect(plain.locator("#messages")).to_contain_text("Delivery N002 taken: 50 new tokens")
    expect(plain.locator(".available__count")).to_have_text("Available new tokens: 450")
    # The same form's bytes sent again, as a browser retrying the request would: the form's
    # idempotency key makes it a replay of the first, with a message that says so.
    form = next(r for r in takes if r.method == "POST")
    again = plain.request.post(
        form.url,
        data=form.post_data,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        max_redirects=0,
    )
    assert again.status == 302
    plain.reload()
    expect(plain.locator("#messages")).to_contain_text(
        "This form was already submitted: delivery N002 of 50 new tokens"
    )
    expect(plain.locator(".available__count")).to_have_text("Available new tokens: 450")
    assert deliveries_of_seed() == [
        ("N001", "Door Sensor DS-1", 100),
        ("N002", "Motion Sensor MS-1", 50),
    ]


@pytest.mark.browser_context_args(locale="zh-CN")
def test_without_javascript_in_chinese_the_walk_goes_by_page_loads_to_the_downloaded_file(
    new_context: Callable[..., BrowserContext], token_worker: CeleryWorker
) -> None:
    """The same walk with JavaScript off, so every step is a full page round trip, and in
    Chinese (a browser set to Chinese), so every message on the way is checked in Chinese."""
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, "acme")
    page.locator("tbody tr").filter(has_text=SEED).get_by_role("link", name="发起新交付").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"发起新交付：{SEED}")  # noqa: RUF001

    page.get_by_label("产品").select_option(label=product_label("Motion Sensor MS-1"))
    page.get_by_label("数量").fill("0")
    page.get_by_role("button", name="确认领取").click()
    expect(page.get_by_role("alert")).to_contain_text("未领取任何交付")
    expect(page.locator("#id_quantity_error")).to_have_text("请输入不小于 1 的数量。")

    page.get_by_label("数量").fill(" 7 ")
    page.get_by_role("button", name="确认领取").click()
    messages = page.locator("#messages")
    expect(messages).to_contain_text("已领取交付 N001：Motion Sensor MS-1 的新 Token 7 个。")  # noqa: RUF001
    expect(page.locator(".available__count")).to_have_text(re.compile(r"^可用新 Token：\s*593$"))  # noqa: RUF001
    expect(page.get_by_label("数量")).to_have_value("")
    assert seed_counters() == (600, 7, 1)

    messages.get_by_role("link", name="Token 新交付列表").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Token 新交付列表：{SEED}")  # noqa: RUF001
    row = page.locator("tbody tr").filter(has_text="N001")
    expect(row).to_contain_text("Motion Sensor MS-1")
    # No polling without JavaScript: the person refreshes until the file is ready.
    for _ in range(FILE_READY_TIMEOUT_MS // 500):
        if row.get_by_role("link", name="CSV").count():
            break
        page.wait_for_timeout(500)
        refresh = page.get_by_role("link", name="刷新")
        if refresh.count():
            refresh.click()
        else:
            page.reload()
    expect(row.locator(".badge")).to_have_text("已就绪")
    with page.expect_download() as download_info:
        row.get_by_role("link", name="CSV").click()
    delivery = NewDelivery.objects.select_related("product").get(order__number=SEED)
    assert_token_csv(download_info.value.path(), delivery=delivery, quantity=7)

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="采购").click()
    expect(page.locator(".tool-notice")).to_contain_text("您需要翻新工具")
