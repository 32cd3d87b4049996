from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import Manufacturer
from orders.models import PurchaseOrder
from refurb_portal.writers import NEW_DELIVERY, ORIGINAL_DELIVERY, service_writes
from tests.conftest import delivered_license_order
from tests.factories import ModuleFactory, PurchaseOrderFactory

pytestmark = pytest.mark.django_db


def _raw_update(sql: str, order_id: int, *, writer: str) -> None:
    """Raw SQL as the service ``writer`` would send it: past the triggers, to the CHECKs."""
    with transaction.atomic(), service_writes(writer), connection.cursor() as cursor:
        cursor.execute(sql, [order_id])


def test_database_refuses_new_tokens_above_delivered(acme: Manufacturer) -> None:
    order = delivered_license_order(acme, delivered=600)
    with pytest.raises(IntegrityError, match="order_new_tokens_within_delivered"):
        _raw_update(
            "UPDATE orders_purchaseorder SET new_tokens_delivered = 601 WHERE id = %s",
            order.pk,
            writer=NEW_DELIVERY,
        )
    order.refresh_from_db()
    assert order.new_tokens_delivered == 0


def test_database_refuses_delivered_above_ordered(acme: Manufacturer) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    with pytest.raises(IntegrityError, match="order_delivered_within_ordered"):
        _raw_update(
            "UPDATE orders_purchaseorder SET quantity_delivered = 1001 WHERE id = %s",
            order.pk,
            writer=ORIGINAL_DELIVERY,
        )


def test_database_refuses_negative_available_through_the_orm(acme: Manufacturer) -> None:
    order = delivered_license_order(acme, delivered=10)
    with pytest.raises(IntegrityError), transaction.atomic(), service_writes(NEW_DELIVERY):
        PurchaseOrder.objects.filter(pk=order.pk).update(new_tokens_delivered=11)


def test_module_order_needs_a_module_and_license_order_none(acme: Manufacturer) -> None:
    with pytest.raises(IntegrityError, match="order_module_iff_module_order"), transaction.atomic():
        PurchaseOrderFactory(manufacturer=acme, order_type=PurchaseOrder.OrderType.MODULE)
    with pytest.raises(IntegrityError, match="order_module_iff_module_order"), transaction.atomic():
        PurchaseOrderFactory(manufacturer=acme, module=ModuleFactory(code="WB3S"))


def test_available_is_delivered_minus_new_tokens(acme: Manufacturer) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    assert (order.quantity_delivered, order.available_new_tokens, order.undelivered) == (
        600,
        600,
        400,
    )
