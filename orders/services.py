"""Writes to orders. The two counters of a purchase order change only here and in
``deliveries.services``, always under the order's row lock."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest

from accounts.models import User
from audit.services import audit_record
from orders.errors import OrderError
from orders.models import OriginalDelivery, PurchaseOrder
from refurb_portal.locking import busy_refused_as, lock_row


def _status_after_delivery(order: PurchaseOrder, delivered: int) -> str:
    if delivered >= order.quantity_ordered:
        return PurchaseOrder.Status.DELIVERED
    return PurchaseOrder.Status.PARTIALLY_DELIVERED


def original_delivery_record(
    *,
    order_id: int,
    quantity: int,
    user: User | None,
    delivered_at: datetime | None = None,
    note: str = "",
    record_key: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> OriginalDelivery:
    """Record one original delivery and raise the order's delivered counter (rule R4).

    Locking contract: locks the order row for the whole transaction, so the undelivered
    remainder read here cannot change before the delivery and the counter are written.
    ``record_key`` (from the form as rendered) makes a resent form return the delivery it
    recorded, checked under that lock; ``OrderError("record_key_reused")`` on another order.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise OrderError("quantity_not_positive")
    with busy_refused_as(OrderError), transaction.atomic():
        order = lock_row(PurchaseOrder.objects.all(), pk=order_id)
        earlier = (
            OriginalDelivery.objects.filter(record_key=record_key).first()
            if record_key is not None
            else None
        )
        if earlier is not None:
            if earlier.order_id != order.pk:
                raise OrderError("record_key_reused")
            return earlier
        if order.status == PurchaseOrder.Status.CANCELLED:
            raise OrderError("order_cancelled")
        if quantity > order.undelivered:
            raise OrderError(
                "exceeds_undelivered",
                undelivered=order.undelivered,
                ordered=order.quantity_ordered,
                quantity=quantity,
            )
        delivery = OriginalDelivery(
            order=order, quantity=quantity, recorded_by=user, note=note, record_key=record_key
        )
        if delivered_at is not None:
            delivery.delivered_at = delivered_at
        delivery.save()
        PurchaseOrder.objects.filter(pk=order.pk).update(
            quantity_delivered=F("quantity_delivered") + quantity,
            status=_status_after_delivery(order, order.quantity_delivered + quantity),
        )
        audit_record(
            action="original_delivery.recorded",
            actor=user,
            obj=order,
            manufacturer=order.manufacturer,
            request=request,
            details={"quantity": quantity, "original_delivery_id": delivery.pk},
        )
    return delivery
