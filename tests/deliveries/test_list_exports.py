"""The New delivery lists' filters, search and exports (issue #18)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Manufacturer, User
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from refurb_portal.writers import NEW_DELIVERY, service_writes
from tests.conftest import delivered_license_order
from tests.deliveries.conftest import take
from tokens.models import TokenFile

pytestmark = pytest.mark.django_db
ALL = reverse("deliveries:delivery_list")


def numbers(response: Any) -> list[str]:
    return [f"{d.order.number}/{d.number}" for d in response.context["page"].object_list]


def export(client: Client, url: str, **query: object) -> list[list[object]]:
    response = client.get(url, query)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    if url.endswith(".csv"):
        return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1:]
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]


@pytest.fixture
def deliveries(acme: Manufacturer, acme_user: User) -> dict[str, NewDelivery]:
    """Five deliveries of two orders, two products, three days and two file states."""
    first = delivered_license_order(acme, number="ORD-A")
    second = delivered_license_order(acme, number="ORD-B")
    made: dict[str, NewDelivery] = {}
    for name, order, product_index, days_ago in [
        ("a1", first, 0, 3),
        ("a2", first, 1, 2),
        ("a3", first, 0, 1),
        ("b1", second, 0, 2),
        ("b2", second, 2, 0),
    ]:
        product = order.products.order_by("pk")[product_index]
        delivery = take(order, acme_user, 10, product_id=product.pk).delivery
        with transaction.atomic(), service_writes(NEW_DELIVERY):
            NewDelivery.objects.filter(pk=delivery.pk).update(
                taken_at=timezone.now() - dt.timedelta(days=days_ago)
            )
        made[name] = delivery
    TokenFile.objects.filter(delivery__in=[made["a2"], made["b1"]]).update(
        status=TokenFile.Status.FAILED
    )
    return made


def test_the_all_orders_list_filters_by_order_product_state_and_dates(
    acme_client: Client, deliveries: dict[str, NewDelivery]
) -> None:
    assert numbers(acme_client.get(ALL, {"order": "ord-a"})) == [
        "ORD-A/N003",
        "ORD-A/N002",
        "ORD-A/N001",
    ]
    product = deliveries["a1"].product_id
    assert numbers(acme_client.get(ALL, {"product": product})) == ["ORD-A/N003", "ORD-A/N001"]
    # b1 was taken after a2, on the same day.
    assert numbers(acme_client.get(ALL, {"state": "failed"})) == ["ORD-B/N001", "ORD-A/N002"]
    today = timezone.localdate()
    window = {"taken_from": today - dt.timedelta(days=2), "taken_to": today - dt.timedelta(days=1)}
    assert numbers(acme_client.get(ALL, window)) == ["ORD-A/N003", "ORD-B/N001", "ORD-A/N002"]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("N003", ["ORD-A/N003"]),
        ("n2", ["ORD-B/N002", "ORD-A/N002"]),
        ("001", ["ORD-B/N001", "ORD-A/N001"]),
        ("ord-b", ["ORD-B/N002", "ORD-B/N001"]),
        ("nobody", []),
    ],
)
def test_the_search_finds_deliveries_by_number_order_and_more(
    acme_client: Client, deliveries: dict[str, NewDelivery], term: str, expected: list[str]
) -> None:
    assert numbers(acme_client.get(ALL, {"q": term})) == expected


def test_the_search_finds_by_product_id_and_who_took_it(
    acme_client: Client, deliveries: dict[str, NewDelivery], acme_user: User
) -> None:
    product = deliveries["b2"].product
    assert numbers(acme_client.get(ALL, {"q": product.product_id})) == ["ORD-B/N002"]
    assert len(numbers(acme_client.get(ALL, {"q": acme_user.username}))) == 5


def test_an_empty_filter_says_nothing_matches(
    acme_client: Client, deliveries: dict[str, NewDelivery]
) -> None:
    html = acme_client.get(ALL, {"q": "nothing-like-it"}).content.decode()
    assert "No new delivery matches these filters." in html


def test_the_order_list_has_no_order_filter_and_keeps_to_its_order(
    acme_client: Client, deliveries: dict[str, NewDelivery]
) -> None:
    order = deliveries["a1"].order
    url = reverse("deliveries:order_delivery_list", args=[order.number])
    response = acme_client.get(url, {"q": "ORD"})
    assert "order" not in response.context["form"].fields
    assert numbers(response) == ["ORD-A/N003", "ORD-A/N002", "ORD-A/N001"]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_all_orders_export_holds_the_rows_of_the_filter_on_screen(
    acme_client: Client, deliveries: dict[str, NewDelivery], file_format: str
) -> None:
    query = {"state": "failed"}
    on_screen = numbers(acme_client.get(ALL, query))
    rows = export(acme_client, reverse(f"deliveries:delivery_{file_format}"), **query)
    assert [f"{row[1]}/{row[0]}" for row in rows] == on_screen
    assert rows[0][5] == (10 if file_format == "xlsx" else "10")
    assert rows[0][7] == "Failed"


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_order_export_holds_the_rows_of_the_filter_on_screen(
    acme_client: Client, deliveries: dict[str, NewDelivery], file_format: str
) -> None:
    order = deliveries["a1"].order
    list_url = reverse("deliveries:order_delivery_list", args=[order.number])
    query = {"product": deliveries["a1"].product_id}
    on_screen = numbers(acme_client.get(list_url, query))
    url = reverse(f"deliveries:order_delivery_{file_format}", args=[order.number])
    rows = export(acme_client, url, **query)
    assert [f"{row[1]}/{row[0]}" for row in rows] == on_screen == ["ORD-A/N003", "ORD-A/N001"]


def test_the_export_buttons_carry_the_filter(
    acme_client: Client, deliveries: dict[str, NewDelivery]
) -> None:
    html = acme_client.get(ALL, {"state": "failed", "page": "1"}).content.decode()
    assert 'href="/purchase/new-deliveries/export.csv?state=failed"' in html
    assert 'href="/purchase/new-deliveries/export.xlsx?state=failed"' in html


def test_another_manufacturer_exports_none_of_acmes_deliveries(
    globex_client: Client, globex: Manufacturer, deliveries: dict[str, NewDelivery]
) -> None:
    assert export(globex_client, reverse("deliveries:delivery_csv")) == []
    order: PurchaseOrder = deliveries["a1"].order
    url = reverse("deliveries:order_delivery_csv", args=[order.number])
    assert globex_client.get(url).status_code == 404
