"""The order page: facts, usage, deliveries, work orders, Activity and its actions (issue #18)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Manufacturer, User
from deliveries.services import new_delivery_void
from orders.models import PurchaseOrder
from orders.services import original_delivery_record
from tests.conftest import delivered_license_order
from tests.deliveries.conftest import page_text, take
from tests.factories import WorkOrderFactory

pytestmark = pytest.mark.django_db


def url(order: PurchaseOrder) -> str:
    return reverse("orders:order_detail", args=[order.number])


def test_the_page_shows_the_orders_facts_usage_and_actions(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    take(seed_order, acme_user, 150)
    response = acme_client.get(url(seed_order))
    assert response.status_code == 200
    text = page_text(response)
    assert "Order LIC-2026-0001" in text
    # The usage bar is one image named by the numbers, and they are written beside it too.
    assert re.search(
        r'role="img" aria-label="Ordered 1,000, delivered 600, new tokens delivered 150, '
        r'available 450\."',
        response.content.decode(),
    )
    assert "Available 450" in text
    assert "Undelivered 400" in text
    assert 'width="60"' in response.content.decode()  # delivered: 60 % of the ordered
    html = response.content.decode()
    assert f'href="{reverse("deliveries:initiate", args=[seed_order.number])}"' in html
    assert f'href="{reverse("workorders:submit")}?order=LIC-2026-0001"' in html
    assert "Submit a work order" in text


def test_the_page_lists_original_and_new_deliveries_work_orders_and_activity(
    acme_client: Client, acme: Manufacturer, acme_user: User, seed_order: PurchaseOrder
) -> None:
    original_delivery_record(order_id=seed_order.pk, quantity=100, user=None)
    delivery = take(seed_order, acme_user, 5).delivery
    voided = take(seed_order, acme_user, 7).delivery
    new_delivery_void(delivery_id=voided.pk, user=acme_user, reason="typed 7 for 5")
    work_order = WorkOrderFactory(manufacturer=acme, submitted_by=acme_user, order=seed_order)
    other = delivered_license_order(acme, number="OTHER-1")
    WorkOrderFactory(manufacturer=acme, submitted_by=acme_user, order=other)

    response = acme_client.get(url(seed_order))
    text = page_text(response)
    assert [d.quantity for d in response.context["original_deliveries"]] == [100, 600]
    assert [d.number for d in response.context["new_deliveries"]] == [
        voided.number,
        delivery.number,
    ]
    assert "Voided" in text
    assert list(response.context["work_orders"]) == [work_order]
    assert work_order.number in text
    actions = [event.action for event in response.context["events"]]
    assert actions[:3] == ["delivery.voided", "delivery.taken", "delivery.taken"]
    assert "original_delivery.recorded" in actions
    assert f'href="{reverse("audit:activity")}?order=LIC-2026-0001"' in response.content.decode()


def test_the_activity_link_filters_the_activity_page_to_the_order(
    acme_client: Client, acme: Manufacturer, acme_user: User, seed_order: PurchaseOrder
) -> None:
    other = delivered_license_order(acme, number="OTHER-1")
    take(seed_order, acme_user, 5)
    take(other, acme_user, 6)
    response = acme_client.get(reverse("audit:activity"), {"order": seed_order.number})
    events = list(response.context["page"].object_list)
    assert {event.action for event in events} == {"delivery.taken", "original_delivery.recorded"}
    assert all(
        event.details.get("order") == seed_order.number or event.object_repr == seed_order.number
        for event in events
    )


def test_an_order_not_yet_delivered_says_why_it_offers_no_new_delivery(
    acme_client: Client, acme: Manufacturer
) -> None:
    order = delivered_license_order(acme, delivered=0, number="LIC-NONE")
    response = acme_client.get(url(order))
    html = response.content.decode()
    assert reverse("deliveries:initiate", args=[order.number]) not in html
    assert "Nothing of it has been delivered yet" in html
    assert "Nothing of this order has been delivered yet." in html


def test_another_manufacturers_order_is_a_404(
    globex_client: Client, seed_order: PurchaseOrder
) -> None:
    assert globex_client.get(url(seed_order)).status_code == 404


def test_the_page_in_chinese(acme_client: Client, seed_order: PurchaseOrder) -> None:
    response = acme_client.get(url(seed_order), headers={"accept-language": "zh-hans"})
    with translation.override("zh-hans"):
        text = page_text(response)
    assert "订单 LIC-2026-0001" in text
    assert "可用" in text
    assert "Usage" not in text
