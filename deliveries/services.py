"""Writes for new deliveries. ``new_delivery_take`` is the only writer of an order's
``new_tokens_delivered`` counter; the database constraint on the order is the backstop."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.http import HttpRequest

from accounts.models import User
from audit.services import audit_record
from deliveries.errors import DeliveryError
from deliveries.models import NewDelivery
from deliveries.selectors import eligible_products_for_order
from orders.models import PurchaseOrder
from orders.selectors import is_eligible_for_new_delivery
from refurb_portal.locking import LockBusy, lock_row
from tokens.services import token_file_schedule


@dataclass(frozen=True)
class TakeResult:
    delivery: NewDelivery
    created: bool  # False when the idempotency key replayed an earlier delivery


def new_delivery_take(
    *,
    order_id: int,
    product_id: int,
    quantity: int,
    user: User,
    idempotency_key: uuid.UUID,
    request: HttpRequest | None = None,
) -> TakeResult:
    """Take a new delivery of ``quantity`` tokens of ``product_id`` on ``order_id``.

    Locking contract: one transaction that first locks the order row (``SELECT ... FOR UPDATE``
    with a lock timeout), then reads the counters, checks rules R1, R3, R6/R7, writes the
    delivery, its token-file job and the raised counter, and commits. Two takes on one order
    therefore serialize on that row and can never together exceed the available count (R9).
    The token file job is sent to the broker only after the commit.

    Idempotency: a key already used returns that delivery (``created=False``) when it matches,
    and is refused when the product or quantity differ. The key is checked after the lock, so
    two simultaneous submissions of one form serialize and the second finds the first.

    The caller must check that ``user`` may see the order (tenancy) before calling.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise DeliveryError("quantity_not_positive")
    try:
        with transaction.atomic():
            order = lock_row(PurchaseOrder.objects.select_related("manufacturer"), pk=order_id)
            earlier = NewDelivery.objects.filter(idempotency_key=idempotency_key).first()
            if earlier is not None:
                if (
                    earlier.order_id == order.pk
                    and earlier.product_id == product_id
                    and earlier.quantity == quantity
                    and earlier.taken_by_id == user.pk
                ):
                    return TakeResult(delivery=earlier, created=False)
                raise DeliveryError("key_reused")
            if not is_eligible_for_new_delivery(order):
                raise DeliveryError("order_not_eligible")
            if not eligible_products_for_order(order=order).filter(pk=product_id).exists():
                raise DeliveryError("product_not_eligible")
            available = order.available_new_tokens
            if available <= 0:
                raise DeliveryError("nothing_available")
            if quantity > available:
                raise DeliveryError("quantity_exceeds_available", available=available)
            # The sequence is safe to compute here: every writer of this order holds its lock.
            last = order.new_deliveries.aggregate(last=Max("sequence"))["last"] or 0
            delivery = NewDelivery.objects.create(
                order=order,
                sequence=last + 1,
                product_id=product_id,
                quantity=quantity,
                taken_by=user,
                idempotency_key=idempotency_key,
            )
            PurchaseOrder.objects.filter(pk=order.pk).update(
                new_tokens_delivered=F("new_tokens_delivered") + quantity
            )
            token_file_schedule(delivery=delivery)
            audit_record(
                action="delivery.taken",
                actor=user,
                obj=delivery,
                manufacturer=order.manufacturer,
                request=request,
                details={
                    "order": order.number,
                    "product_id": product_id,
                    "quantity": quantity,
                    "available_before": available,
                },
            )
    except LockBusy as exc:
        raise DeliveryError("busy") from exc
    except IntegrityError as exc:
        # The same key used at the same moment on another order: the unique index decides.
        if NewDelivery.objects.filter(idempotency_key=idempotency_key).exists():
            raise DeliveryError("key_reused") from exc
        raise
    except DeliveryError as exc:
        if exc.code in {
            "order_not_eligible",
            "product_not_eligible",
            "nothing_available",
            "quantity_exceeds_available",
        }:
            audit_record(
                action="delivery.refused",
                actor=user,
                request=request,
                details={
                    "order_id": order_id,
                    "product_id": product_id,
                    "quantity": quantity,
                    "reason": exc.code,
                },
            )
        raise
    return TakeResult(delivery=delivery, created=True)
