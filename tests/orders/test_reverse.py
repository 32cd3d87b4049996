"""Reversing an original delivery (rule R14): the service and the admin action."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from orders.errors import OrderError
from orders.models import OriginalDelivery, PurchaseOrder
from orders.services import original_delivery_record, original_delivery_reverse
from refurb_portal.invariants import invariant_violations
from tests.conftest import delivered_license_order
from tests.deliveries.conftest import take

pytestmark = pytest.mark.django_db


def deliveries_of(order: PurchaseOrder) -> list[OriginalDelivery]:
    return list(OriginalDelivery.objects.filter(order=order).order_by("pk"))


def test_a_reversal_lowers_delivered_keeps_the_row_and_is_audited(
    acme: Manufacturer, staff_user: User
) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    original_delivery_record(order_id=order.pk, quantity=400, user=staff_user)
    wrong = deliveries_of(order)[-1]
    original_delivery_reverse(
        original_delivery_id=wrong.pk, user=staff_user, reason="recorded on the wrong order"
    )
    order.refresh_from_db()
    assert (order.quantity_delivered, order.available_new_tokens, order.status) == (
        600,
        600,
        PurchaseOrder.Status.PARTIALLY_DELIVERED,
    )
    wrong.refresh_from_db()
    assert (wrong.is_reversed, wrong.reversal_reason, wrong.reversed_by) == (
        True,
        "recorded on the wrong order",
        staff_user,
    )
    event = AuditEvent.objects.get(action="original_delivery.reversed")
    assert (event.manufacturer, event.details["delivered_after"]) == (acme, 600)
    assert invariant_violations() == []


def test_a_reversal_below_the_new_tokens_delivered_is_refused_with_the_numbers(
    acme: Manufacturer, acme_user: User, staff_user: User
) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    original_delivery_record(order_id=order.pk, quantity=100, user=staff_user)
    take(order, acme_user, 650)
    first = deliveries_of(order)[0]
    with pytest.raises(OrderError) as info, translation.override("en"):
        original_delivery_reverse(original_delivery_id=first.pk, user=staff_user, reason="x")
    assert info.value.code == "reversal_below_new_tokens"
    with translation.override("en"):
        assert info.value.message == (
            "Reversing this delivery of 600 would leave 100 delivered of the 700 now, below "
            "the 650 new tokens already delivered on the order. Void new deliveries first, "
            "or reverse a smaller delivery."
        )
    order.refresh_from_db()
    assert order.quantity_delivered == 700
    assert not deliveries_of(order)[0].is_reversed


def test_a_delivery_is_reversed_once(acme: Manufacturer, staff_user: User) -> None:
    order = delivered_license_order(acme, delivered=600)
    delivery = deliveries_of(order)[0]
    original_delivery_reverse(original_delivery_id=delivery.pk, user=staff_user, reason="a")
    with pytest.raises(OrderError) as info:
        original_delivery_reverse(original_delivery_id=delivery.pk, user=staff_user, reason="b")
    assert info.value.code == "already_reversed"
    order.refresh_from_db()
    assert (order.quantity_delivered, order.status) == (0, PurchaseOrder.Status.AWAITING_DELIVERY)


@pytest.mark.parametrize(
    ("language", "title", "done", "refused"),
    [
        (
            "en",
            "Reverse original deliveries",
            "1 original delivery reversed.",
            "below the 550 new tokens already delivered",
        ),
        ("zh-hans", "冲销原始交付", "已冲销 1 个原始交付。", "低于该订单已交付的 550 个新 Token"),
    ],
)
def test_staff_reverse_in_the_admin_and_a_refusal_is_a_message(
    staff_client: Client,
    acme: Manufacturer,
    acme_user: User,
    staff_user: User,
    language: str,
    title: str,
    done: str,
    refused: str,
) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    original_delivery_record(order_id=order.pk, quantity=100, user=staff_user)
    take(order, acme_user, 550)
    first, second = deliveries_of(order)
    changelist = reverse("admin:orders_originaldelivery_changelist")
    staff_client.cookies["django_language"] = language
    with translation.override(language):
        confirm = staff_client.post(
            changelist, {"action": "reverse", "_selected_action": [str(second.pk)]}
        )
        assert confirm.status_code == 200
        assert title in confirm.content.decode()
        applied = {"apply": "1", "reason": "typo", "action": "reverse"}
        response = staff_client.post(
            changelist, {**applied, "_selected_action": [str(second.pk)]}, follow=True
        )
        assert done in response.content.decode()
        response = staff_client.post(
            changelist, {**applied, "_selected_action": [str(first.pk)]}, follow=True
        )
    assert response.status_code == 200
    assert refused in response.content.decode()
    order.refresh_from_db()
    assert order.quantity_delivered == 600
    assert invariant_violations() == []
