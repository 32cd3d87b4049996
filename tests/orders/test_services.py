from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts.models import Manufacturer
from audit.models import AuditEvent
from orders.errors import OrderError
from orders.models import OriginalDelivery, PurchaseOrder
from orders.selectors import order_availability, order_counters_from_rows
from orders.services import original_delivery_record
from tests.conftest import delivered_license_order
from tests.threads import barrier, run_in_threads


@pytest.mark.django_db
def test_recording_raises_delivered_and_available_r4(acme: Manufacturer) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    original_delivery_record(order_id=order.pk, quantity=400, user=None)
    order.refresh_from_db()
    assert order.quantity_delivered == 1000
    assert order.available_new_tokens == 1000
    assert order.status == PurchaseOrder.Status.DELIVERED
    availability = order_availability(order_id=order.pk)
    assert availability.original_delivery_count == 2
    assert availability.undelivered == 0
    assert order_counters_from_rows(order_id=order.pk) == (1000, 0)
    assert AuditEvent.objects.filter(action="original_delivery.recorded").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -5, 401, 10**12])
def test_bad_quantities_are_refused_and_change_nothing(acme: Manufacturer, quantity: int) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    with pytest.raises(OrderError) as info:
        original_delivery_record(order_id=order.pk, quantity=quantity, user=None)
    assert info.value.message
    order.refresh_from_db()
    assert order.quantity_delivered == 600
    assert OriginalDelivery.objects.filter(order=order).count() == 1


@pytest.mark.django_db
def test_exceeding_the_remainder_names_it(acme: Manufacturer) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    with pytest.raises(OrderError, match="Only 400 of the 1000 ordered"):
        original_delivery_record(order_id=order.pk, quantity=401, user=None)


@pytest.mark.django_db
def test_cancelled_order_takes_no_delivery(acme: Manufacturer) -> None:
    order = delivered_license_order(acme, delivered=0, status=PurchaseOrder.Status.CANCELLED)
    with pytest.raises(OrderError) as info:
        original_delivery_record(order_id=order.pk, quantity=1, user=None)
    assert info.value.code == "order_cancelled"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_recordings_never_exceed_the_ordered_quantity(
    acme: Manufacturer,
) -> None:
    """Two staff record 300 each on an order with 400 undelivered, at the same moment: the row
    lock makes exactly one succeed and the other get a clean refusal. Repeated, because a race
    that passes once proves nothing."""
    for _round in range(15):
        order = delivered_license_order(acme, ordered=1000, delivered=600)
        released = barrier(2)
        outcomes: list[str] = []

        def record(
            order_id: int = order.pk,
            released: threading.Barrier = released,
            outcomes: list[str] = outcomes,
        ) -> None:
            try:
                released.wait()
                original_delivery_record(order_id=order_id, quantity=300, user=None)
                outcomes.append("ok")
            except OrderError as exc:
                outcomes.append(exc.code)
            finally:
                connection.close()

        run_in_threads([record, record])
        order.refresh_from_db()
        assert sorted(outcomes) == ["exceeds_undelivered", "ok"]
        assert order.quantity_delivered == 900
        assert order_counters_from_rows(order_id=order.pk) == (900, 0)
