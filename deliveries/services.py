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
from deliveries.selectors import new_delivery_options
from orders.models import PurchaseOrder
from refurb_portal.locking import busy_refused_as, lock_row
from tokens.services import token_file_schedule

# Refusals that say something about the order or the request rather than about a typing slip;
# the security review (issue #7) wants each of them in the audit trail.
AUDITED_REFUSALS = frozenset(
    {
        "order_not_eligible",
        "nothing_available",
        "product_not_eligible",
        "quantity_exceeds_available",
    }
)


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
    with ``lock_timeout``; a wait beyond it is refused as "busy"), then reads the counters,
    checks rules R1, R5, R6/R7 and R3 in that order, writes the delivery, its PENDING token-file
    job, the raised counter and the audit event, and commits. Every other writer of the counters
    takes the same lock first, so two takes on one order serialize on that row and can never
    together exceed the available count (R9); the delivery's sequence number is safe for the
    same reason. The token file job is sent to the broker only after the commit.

    Idempotency: a key already used returns that delivery (``created=False``) when the order,
    product, quantity and user match, and is refused as ``key_reused`` when they differ. The key
    is looked up after the lock, so two simultaneous submissions of one form serialize and the
    second finds the first; the unique index on the key settles the same key sent to two orders.

    Refusals raise ``DeliveryError``; those in ``AUDITED_REFUSALS`` are recorded as
    ``delivery.refused`` after the rollback. The caller must check that ``user`` may see the
    order (tenancy) before calling; an unknown ``order_id`` raises ``PurchaseOrder.DoesNotExist``.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise DeliveryError("quantity_not_positive")
    try:
        with busy_refused_as(DeliveryError), transaction.atomic():
            # The manufacturer comes in the same query (the audit event needs it); lock_row locks
            # only the order row (FOR UPDATE OF), so takes on other orders of that manufacturer
            # are not serialized behind this one.
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
            available = _check_rules(order=order, product_id=product_id, quantity=quantity)
            last = order.new_deliveries.aggregate(last=Max("sequence"))["last"] or 0
            delivery = NewDelivery.objects.create(
                order=order,
                sequence=last + 1,
                product_id=product_id,
                quantity=quantity,
                taken_by=user,
                idempotency_key=idempotency_key,
            )
            # F() rather than the value read above: the database adds to what it holds, and its
            # CHECK constraint refuses the result if the lock was ever bypassed.
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
                    "delivery": delivery.number,
                    "product_id": product_id,
                    "quantity": quantity,
                    "available_before": available,
                    "available_after": available - quantity,
                },
            )
    except IntegrityError as exc:
        # The same key used at the same moment on another order: the unique index decides.
        if NewDelivery.objects.filter(idempotency_key=idempotency_key).exists():
            raise DeliveryError("key_reused") from exc
        raise
    except DeliveryError as exc:
        if exc.code in AUDITED_REFUSALS:
            # After the rollback, in its own write: the refusal is kept although nothing else is.
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


def _check_rules(*, order: PurchaseOrder, product_id: int, quantity: int) -> int:
    """Rules R1, R5, R6/R7 (``new_delivery_options``, asked about the locked row) and R3;
    returns the available count."""
    options = new_delivery_options(order=order)
    if options.order_refusal:
        raise DeliveryError(options.order_refusal)
    if not options.offers(product_id):
        raise DeliveryError("product_not_eligible")
    if quantity > options.available:
        raise DeliveryError("quantity_exceeds_available", available=options.available)
    return options.available
