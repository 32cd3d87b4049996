"""The Purchase Order list's sorting, page size, module search and exports (issue #18)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import Manufacturer
from orders.exports import PURCHASE_ORDER_COLUMNS
from orders.models import PurchaseOrder
from orders.selectors import PURCHASE_ORDER_SORTS, purchase_order_list
from tests.conftest import delivered_license_order
from tests.factories import ModuleFactory, ModuleOrderFactory, ProductFactory

pytestmark = pytest.mark.django_db
URL = "/purchase/orders/"


def numbers(response: Any) -> list[str]:
    return [order.number for order in response.context["page"].object_list]


@pytest.fixture
def orders(acme: Manufacturer) -> list[PurchaseOrder]:
    """Four orders whose numbers, sizes and dates sort differently."""
    return [
        delivered_license_order(acme, number="B-2", ordered=500, delivered=100),
        delivered_license_order(acme, number="D-4", ordered=900, delivered=0),
        delivered_license_order(acme, number="A-1", ordered=700, delivered=700),
        delivered_license_order(acme, number="C-3", ordered=300, delivered=250),
    ]


def export(client: Client, file_format: str, **query: object) -> list[list[object]]:
    """The rows of an export of the Purchase Order list (header dropped)."""
    url = reverse(f"orders:purchase_order_{file_format}")
    response = client.get(url, query)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    if file_format == "csv":
        return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1:]
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", ["C-3", "A-1", "D-4", "B-2"]),  # newest first
        ("created", ["B-2", "D-4", "A-1", "C-3"]),
        ("number", ["A-1", "B-2", "C-3", "D-4"]),
        ("-number", ["D-4", "C-3", "B-2", "A-1"]),
        ("ordered", ["C-3", "B-2", "A-1", "D-4"]),
        ("-delivered", ["A-1", "C-3", "B-2", "D-4"]),
        ("-available", ["A-1", "C-3", "B-2", "D-4"]),
        ("available", ["D-4", "B-2", "C-3", "A-1"]),
        ("nonsense", ["C-3", "A-1", "D-4", "B-2"]),  # an unknown sort is the default
    ],
)
def test_the_list_sorts_by_the_urls_sort(
    acme_client: Client, orders: list[PurchaseOrder], sort: str, expected: list[str]
) -> None:
    assert numbers(acme_client.get(URL, {"sort": sort} if sort else {})) == expected


def test_the_sorted_column_says_so_and_its_link_reverses_it(
    acme_client: Client, orders: list[PurchaseOrder]
) -> None:
    response = acme_client.get(URL, {"q": "-", "sort": "number", "page": "1"})
    html = response.content.decode()
    assert html.count("aria-sort=") == 1
    assert 'aria-sort="ascending"' in html
    headers = response.context["sort_headers"]
    # The filters stay, the page does not, and the sorted column's link reverses it.
    assert headers["number"].query == "q=-&sort=-number"
    assert headers["ordered"].query == "q=-&sort=-ordered"
    assert 'id="sort-number" href="?q=-&amp;sort=-number"' in html
    # Back to the default sort, newest first: it stays out of the URL.
    response = acme_client.get(URL, {"q": "-", "sort": "created"})
    assert response.context["sort_headers"]["created"].query == "q=-"


def test_a_heading_link_swaps_the_results_and_the_sort_menu_follows(
    acme_client: Client, orders: list[PurchaseOrder]
) -> None:
    response = acme_client.get(
        URL, {"sort": "-ordered"}, headers={"HX-Request": "true", "HX-Trigger": "sort-ordered"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<select name="sort"')
    assert 'hx-swap-oob="true"' in html
    assert '<option value="-ordered" selected>' in html
    # A change of the filter form itself swaps the results only (the menu keeps its focus).
    response = acme_client.get(URL, {"sort": "-ordered"}, headers={"HX-Request": "true"})
    assert "hx-swap-oob" not in response.content.decode()


@pytest.mark.parametrize(("per_page", "shown"), [("", 25), ("50", 50), ("100", 100), ("7", 25)])
def test_the_page_size_is_chosen_in_the_url(
    acme_client: Client, acme: Manufacturer, per_page: str, shown: int
) -> None:
    products = ProductFactory.create_batch(1, manufacturer=acme)
    PurchaseOrder.objects.bulk_create(
        PurchaseOrder(
            manufacturer=acme, number=f"N-{n:03d}", order_type="license", quantity_ordered=10
        )
        for n in range(120)
    )
    assert products
    response = acme_client.get(URL, {"per_page": per_page} if per_page else {})
    assert len(numbers(response)) == shown
    # The page links keep the size.
    if per_page in {"50", "100"}:
        assert f"per_page={per_page}&amp;page=2" in response.content.decode()


def test_search_finds_the_module_orders_of_a_module_model(
    acme_client: Client, acme: Manufacturer, globex: Manufacturer
) -> None:
    wb3s = ModuleFactory(code="WB3S")
    ModuleOrderFactory(manufacturer=acme, module=wb3s, number="MOD-1")
    ModuleOrderFactory(manufacturer=acme, module=ModuleFactory(code="CB2S"), number="MOD-2")
    ModuleOrderFactory(manufacturer=globex, module=wb3s, number="GLX-MOD")
    assert numbers(acme_client.get(URL, {"q": "WB3S"})) == ["MOD-1"]
    assert numbers(acme_client.get(URL, {"q": "wb3"})) == ["MOD-1"]


def test_each_row_links_to_its_order_page(acme_client: Client, seed_order: PurchaseOrder) -> None:
    html = acme_client.get(URL).content.decode()
    assert f'href="/purchase/orders/{seed_order.number}/"' in html


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_export_holds_the_rows_of_the_filter_on_screen(
    acme_client: Client,
    globex: Manufacturer,
    orders: list[PurchaseOrder],
    file_format: str,
) -> None:
    delivered_license_order(globex, number="GLX-1")
    query = {"status": "partial", "sort": "-available", "per_page": "100"}
    on_screen = numbers(acme_client.get(URL, query))
    assert on_screen == ["C-3", "B-2"]
    rows = export(acme_client, file_format, **query)
    assert [row[0] for row in rows] == on_screen
    c3 = PurchaseOrder.objects.get(number="C-3")
    numbers_cells = rows[0][5:9]
    expected = [300, 250, 0, 250]
    assert numbers_cells == (expected if file_format == "xlsx" else [str(n) for n in expected])
    assert rows[0][9] == "Partially delivered"
    products = c3.products.order_by("name", "product_id")
    assert rows[0][4] == "; ".join(f"{p.name} ({p.product_id})" for p in products)
    assert products.count() > 1


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_export_whose_rows_cannot_be_read_is_an_error_not_an_empty_file(
    acme_user: Any,
    seed_order: PurchaseOrder,
    file_format: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The export of make run on SQLite failed at its query after the CSV's header was sent:
    a 200 with the header alone. A row source that fails is now answered with a 500."""

    def failing_rows(chunk_size: int) -> Iterator[PurchaseOrder]:
        raise RuntimeError("the database refused the query")
        yield  # a generator, as a queryset's iterator is

    monkeypatch.setattr(
        "orders.views.with_product_names",
        lambda orders: SimpleNamespace(iterator=failing_rows),
    )
    client = Client(raise_request_exception=False)
    client.force_login(acme_user)
    response = client.get(reverse(f"orders:purchase_order_{file_format}"))
    assert response.status_code == 500


def test_the_export_buttons_carry_the_filter(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    html = acme_client.get(URL, {"q": "LIC", "sort": "number"}).content.decode()
    assert 'href="/purchase/orders/export.csv?q=LIC&amp;sort=number"' in html
    assert 'href="/purchase/orders/export.xlsx?q=LIC&amp;sort=number"' in html


def test_an_export_in_chinese_has_chinese_headers(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    response = acme_client.get(
        reverse("orders:purchase_order_csv"), headers={"accept-language": "zh-hans"}
    )
    body = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert body.splitlines()[0].startswith("订单号")


def test_another_manufacturers_export_never_holds_acme_rows(
    globex_client: Client, seed_order: PurchaseOrder
) -> None:
    assert export(globex_client, "csv") == []


def test_the_export_has_a_column_per_heading() -> None:
    assert len(PURCHASE_ORDER_COLUMNS) == 11


def plan(queryset: Any) -> str:
    """PostgreSQL's plan for the page query, with sequential and bitmap scans and sorts priced
    out, so that the plan shows whether an index can give the rows in the sort's order (no Sort
    node) whatever the table's statistics say after the tests before this one."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("sort", "index"),
    [
        ("-created", "orders_purc_manufac_"),  # the index named by Django for the default sort
        ("-available", "order_manufacturer_available"),
        ("number", "order_manufacturer_number"),
        ("-ordered", "order_manufacturer_ordered"),
        ("delivered", "order_manufacturer_delivered"),
    ],
)
def test_every_sort_reads_an_index_in_order(
    acme: Manufacturer, orders: list[PurchaseOrder], sort: str, index: str
) -> None:
    assert sort in PURCHASE_ORDER_SORTS
    page = purchase_order_list(manufacturer=acme, sort=sort)[:25]
    explained = plan(page)
    assert index in explained, explained
    assert "Sort" not in explained, explained


def test_the_row_shows_what_the_template_used_to_work_out_per_row(
    acme_client: Client, orders: list[PurchaseOrder]
) -> None:
    """orders.rows: labels, URLs, grouped numbers and the local date, as the filters and tags
    wrote them."""
    from django.contrib.humanize.templatetags.humanize import intcomma
    from django.template.defaultfilters import date as date_filter
    from django.utils.timezone import localtime

    order = PurchaseOrder.objects.get(number="A-1")
    html = acme_client.get(URL, {"q": "A-1"}, headers={"Accept-Language": "en"}).content.decode()
    assert f'<a href="{reverse("orders:order_detail", args=["A-1"])}">A-1</a>' in html
    assert f'href="{reverse("deliveries:initiate", args=["A-1"])}"' in html
    assert f">{order.get_status_display()}</span>" in html
    assert f">{order.get_order_type_display()}" in html
    assert f'<td class="num" data-label="Ordered">{intcomma(order.quantity_ordered)}</td>' in (html)
    created = localtime(order.created_at)
    assert f'<time datetime="{date_filter(created, "c")}">' in html
    assert f">{date_filter(created, 'SHORT_DATE_FORMAT')}</time>" in html


def test_a_long_list_says_more_than_the_cap(
    acme_client: Client, orders: list[PurchaseOrder], settings: Any
) -> None:
    """The count stops at LIST_COUNT_CAP (at least a page: 25 rows) and says "more than"."""
    acme = orders[0].manufacturer
    for n in range(22):
        delivered_license_order(acme, number=f"E-{n}", ordered=10, delivered=0)
    settings.LIST_COUNT_CAP = 25
    response = acme_client.get(URL, headers={"Accept-Language": "en"})
    assert response.context["page"].paginator.capped
    assert "More than 25 orders" in response.content.decode()
    settings.LIST_COUNT_CAP = 26
    assert "26 orders" in acme_client.get(URL, headers={"Accept-Language": "en"}).content.decode()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_grouping_writes_numbers_as_intcomma_does(language: str) -> None:
    from django.contrib.humanize.templatetags.humanize import intcomma
    from django.utils import translation

    from refurb_portal.pages import grouping

    with translation.override(language):
        grouped = grouping()
        for value in (0, 7, 999, 1000, 12345, 1234567, 2_000_000_000):
            assert grouped(value) == intcomma(value)


def test_url_for_each_gives_what_reverse_gives() -> None:
    from refurb_portal.pages import url_for_each

    detail = url_for_each("orders:order_detail")
    void = url_for_each("deliveries:void", marker=999_999)
    for number in ("A-1", "PO.2026_7", "x"):
        assert detail(number) == reverse("orders:order_detail", args=[number])
    assert void(42) == reverse("deliveries:void", args=[42])
