from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Manufacturer
from orders.models import OriginalDelivery, PurchaseOrder
from tests.conftest import delivered_license_order

pytestmark = pytest.mark.django_db


def record_url(order: PurchaseOrder) -> str:
    return reverse("admin:orders_purchaseorder_record_delivery", args=[order.pk])


def record_form_key(client: Client, order: PurchaseOrder) -> str:
    """The key of the Record original delivery form as rendered (one per rendering)."""
    page = client.get(record_url(order))
    key = str(page.context["form"]["record_key"].value())
    assert f'name="record_key" value="{key}"' in page.content.decode()
    return key


def test_staff_records_an_original_delivery_through_the_service(
    staff_client: Client, acme: Manufacturer
) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    data = {"quantity": "400", "note": "rest", "record_key": record_form_key(staff_client, order)}
    response = staff_client.post(record_url(order), data)
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.quantity_delivered, order.available_new_tokens) == (1000, 1000)
    delivery = OriginalDelivery.objects.filter(order=order).order_by("-id").first()
    assert delivery is not None
    assert delivery.recorded_by is not None
    assert delivery.recorded_by.username == "staff"


def test_the_record_form_sent_twice_records_one_delivery(
    staff_client: Client, acme: Manufacturer
) -> None:
    """A double click, or the form resent, on a slow link: one delivery, the counter raised once."""
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    data = {"quantity": "100", "record_key": record_form_key(staff_client, order)}
    answers = [staff_client.post(record_url(order), data) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [302, 302]
    order.refresh_from_db()
    assert order.quantity_delivered == 700
    assert OriginalDelivery.objects.filter(order=order).count() == 2  # the first 600, and this
    # A key is bound to its order: sent for another order it records nothing there.
    other = delivered_license_order(acme, ordered=1000, delivered=600)
    refused = staff_client.post(record_url(other), data, headers={"Accept-Language": "en"})
    assert "This form was already used for another order." in refused.content.decode()
    other.refresh_from_db()
    assert other.quantity_delivered == 600


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "greater than or equal to 1"),
        ("-5", "greater than or equal to 1"),
        ("abc", "Enter a whole number"),
        ("401", "Only 400 of the 1000 ordered are still undelivered"),
    ],
)
def test_bad_original_delivery_gets_a_clear_error_and_changes_nothing(
    staff_client: Client, acme: Manufacturer, quantity: str, message: str
) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    key = record_form_key(staff_client, order)
    response = staff_client.post(record_url(order), {"quantity": quantity, "record_key": key})
    assert response.status_code == 200
    assert message in response.content.decode()
    order.refresh_from_db()
    assert order.quantity_delivered == 600
    assert OriginalDelivery.objects.filter(order=order).count() == 1


def test_counters_are_read_only_and_deliveries_cannot_be_added_directly(
    staff_client: Client, acme: Manufacturer
) -> None:
    order = delivered_license_order(acme)
    page = staff_client.get(reverse("admin:orders_purchaseorder_change", args=[order.pk]))
    html = page.content.decode()
    assert 'name="quantity_delivered"' not in html
    assert 'name="new_tokens_delivered"' not in html
    assert "Record original delivery" in html
    assert staff_client.get(reverse("admin:orders_originaldelivery_add")).status_code == 403


@pytest.mark.parametrize(
    "model",
    [
        "accounts/manufacturer",
        "accounts/user",
        "orders/productcategory",
        "orders/module",
        "orders/product",
        "orders/purchaseorder",
        "orders/originaldelivery",
        "audit/auditevent",
    ],
)
def test_admin_lists_search_and_filter(
    staff_client: Client, acme: Manufacturer, model: str
) -> None:
    delivered_license_order(acme)
    response = staff_client.get(f"/admin/{model}/", {"q": "a"})
    assert response.status_code == 200
