"""Writes to orders. The two counters of a purchase order change only here and in
``deliveries.services``, always under the order's row lock; PostgreSQL refuses them from
anywhere else (``PurchaseOrder.Meta.triggers``). Staff edits of the other fields of an order or
a product come here too (``purchase_order_update``, ``product_update``), so the admin writes
only what it changed, under the row lock, after the same checks."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Max, Q
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from orders.errors import OrderError
from orders.models import OriginalDelivery, Product, PurchaseOrder
from refurb_portal.locking import busy_refused_as, lock_row
from refurb_portal.writers import ORIGINAL_DELIVERY, service_writes

# The fields of an order that staff may edit; the counters are the services' own.
ORDER_EDITABLE_FIELDS = frozenset(
    {"number", "contract_number", "manufacturer", "order_type", "module", "quantity_ordered"}
    | {"status", "created_at"}
)
PRODUCT_EDITABLE_FIELDS = frozenset({"product_id", "name", "category", "manufacturer"})

# Sent inside the record's and the reversal's transaction, under the order's row lock and the
# service's writer setting, with ``delivery`` (the OriginalDelivery): the tokens app (a layer
# above) issues the delivery's tokens on the first (``tokens.services.original_tokens_schedule``)
# and revokes them, or refuses with an ``OrderError``, on the second
# (``original_tokens_revoke``). A receiver's exception rolls the whole record back.
original_delivery_recorded = Signal()
original_delivery_reversing = Signal()


def _status_after_delivery(order: PurchaseOrder, delivered: int) -> str:
    if delivered >= order.quantity_ordered:
        return PurchaseOrder.Status.DELIVERED
    return PurchaseOrder.Status.PARTIALLY_DELIVERED


def _status_for(*, delivered: int, ordered: int) -> str:
    """The status the counters say (an order that is not cancelled): awaiting, partial, done."""
    if delivered == 0:
        return PurchaseOrder.Status.AWAITING_DELIVERY
    if delivered >= ordered:
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
    """Record one original delivery and raise the order's delivered counter (rule R4); its
    tokens (a license order's License List, a module order's burned credentials) are issued by
    the token file job, scheduled in the same transaction (``original_delivery_recorded``).

    Locking contract: locks the order row for the whole transaction, so the undelivered
    remainder read here cannot change before the delivery and the counter are written, and the
    delivery's sequence (its number, ``O001``...) is the next of its order.
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
            order=order,
            sequence=_next_sequence(order.pk),
            quantity=quantity,
            recorded_by=user,
            note=note,
            record_key=record_key,
        )
        if delivered_at is not None:
            delivery.delivered_at = delivered_at
        with service_writes(ORIGINAL_DELIVERY):
            delivery.save()
            PurchaseOrder.objects.filter(pk=order.pk).update(
                quantity_delivered=F("quantity_delivered") + quantity,
                status=_status_after_delivery(order, order.quantity_delivered + quantity),
            )
            original_delivery_recorded.send(sender=OriginalDelivery, delivery=delivery)
        audit_record(
            action="original_delivery.recorded",
            actor=user,
            obj=order,
            manufacturer=order.manufacturer,
            request=request,
            details={"quantity": quantity, "original_delivery_id": delivery.pk},
        )
    return delivery


def _next_sequence(order_id: int) -> int:
    """The order's next original-delivery sequence (1 for its first). Read under the order's
    row lock, which every recording holds, so two recordings never get the same one; the
    unique constraint ``original_delivery_unique_seq`` backs it."""
    last = OriginalDelivery.objects.filter(order_id=order_id).aggregate(last=Max("sequence"))
    return (last["last"] or 0) + 1


def original_delivery_reverse(
    *,
    original_delivery_id: int,
    user: User,
    reason: str,
    request: HttpRequest | None = None,
) -> OriginalDelivery:
    """Reverse an original delivery recorded by mistake (rule R14); staff only.

    Locking contract: locks the order row, then the delivery row, for the whole transaction.
    The delivery keeps its row, marked reversed with ``reason``; the order's delivered
    quantity drops by its quantity and its status follows. Refused (``OrderError``) when the
    reason is empty, when it is already reversed, and when delivered would fall below the new
    tokens already delivered on the order (rule R2; the message gives the numbers), and when
    any of its tokens was replaced by a targeted new delivery (``reversal_tokens_replaced``) or
    is being made (``reversal_generating``); otherwise its tokens are revoked and its file
    VOIDED (``original_delivery_reversing``), downloaded or not. Audited as
    ``original_delivery.reversed``. An unknown id raises ``OriginalDelivery.DoesNotExist``.
    """
    reason = (reason or "").strip()
    if not reason:
        raise OrderError("reason_missing")
    order_id = OriginalDelivery.objects.values_list("order_id", flat=True).get(
        pk=original_delivery_id
    )
    with busy_refused_as(OrderError), transaction.atomic():
        order = lock_row(PurchaseOrder.objects.select_related("manufacturer"), pk=order_id)
        delivery = lock_row(OriginalDelivery.objects.all(), pk=original_delivery_id)
        if delivery.is_reversed:
            raise OrderError("already_reversed")
        delivered_after = order.quantity_delivered - delivery.quantity
        if delivered_after < order.new_tokens_delivered:
            raise OrderError(
                "reversal_below_new_tokens",
                quantity=delivery.quantity,
                delivered=order.quantity_delivered,
                after=delivered_after,
                new_tokens=order.new_tokens_delivered,
            )
        delivery.reversed_at = timezone.now()
        delivery.reversed_by = user
        delivery.reversal_reason = reason[:500]
        with service_writes(ORIGINAL_DELIVERY):
            original_delivery_reversing.send(sender=OriginalDelivery, delivery=delivery)
            delivery.save(update_fields=["reversed_at", "reversed_by", "reversal_reason"])
            PurchaseOrder.objects.filter(pk=order.pk).update(
                quantity_delivered=F("quantity_delivered") - delivery.quantity,
                status=_status_after_reversal(order, delivered_after),
            )
        audit_record(
            action="original_delivery.reversed",
            actor=user,
            obj=order,
            manufacturer=order.manufacturer,
            request=request,
            details={
                "order": order.number,
                "original_delivery_id": delivery.pk,
                "quantity": delivery.quantity,
                "delivered_before": order.quantity_delivered,
                "delivered_after": delivered_after,
                "reason": reason[:500],
            },
        )
    return delivery


def _status_after_reversal(order: PurchaseOrder, delivered: int) -> str:
    if order.status == PurchaseOrder.Status.CANCELLED:
        return order.status
    if delivered == 0:
        return PurchaseOrder.Status.AWAITING_DELIVERY
    return _status_after_delivery(order, delivered)


def _lock_for_staff_edit[M: (PurchaseOrder, Product)](
    model: type[M], *, pk: int, fields: set[str]
) -> M:
    """The row locked for a staff edit of ``fields`` (``ValueError`` for one staff may not edit;
    ``OrderError("busy")`` past the lock timeout)."""
    editable = ORDER_EDITABLE_FIELDS if model is PurchaseOrder else PRODUCT_EDITABLE_FIELDS
    if fields - editable:
        raise ValueError(f"not editable by staff: {sorted(fields - editable)}")
    with busy_refused_as(OrderError):
        return lock_row(model.objects.all(), pk=pk)


def purchase_order_update_check(
    *, order_id: int, values: dict[str, Any], product_ids: Iterable[int] | None = None
) -> PurchaseOrder:
    """Lock the order row and check a staff change of it; returns the locked order.

    Call inside ``transaction.atomic()``: the lock is held to its end, so a write made later in
    the same transaction (the admin's save after its form is clean) meets the state checked
    here. ``values`` maps fields of ``ORDER_EDITABLE_FIELDS`` to new values (``manufacturer``
    and ``module`` as model instances or None); ``product_ids`` the order's products after the
    change, or None when they do not change. Raises ``OrderError`` (ordered below delivered,
    a status other than Cancelled that the counters do not say, manufacturer changed once
    anything was delivered, a product of another manufacturer) and
    ``ValueError`` for a field that is not editable.
    """
    order = _lock_for_staff_edit(PurchaseOrder, pk=order_id, fields=set(values))
    ordered = values.get("quantity_ordered", order.quantity_ordered)
    if ordered is not None and ordered < order.quantity_delivered:
        raise OrderError(
            "ordered_below_delivered", ordered=ordered, delivered=order.quantity_delivered
        )
    status = values.get("status", order.status)
    if "status" in values and status != PurchaseOrder.Status.CANCELLED:
        # Staff may cancel an order; any other status is the counters' to say, so the
        # manufacturer never reads "Awaiting delivery" beside 1,000 delivered.
        expected = _status_for(delivered=order.quantity_delivered, ordered=ordered)
        if status != expected:
            raise OrderError(
                "status_disagrees",
                status=PurchaseOrder.Status(status).label,
                expected=PurchaseOrder.Status(expected).label,
            )
    manufacturer_id = values.get("manufacturer", order.manufacturer).pk
    if manufacturer_id != order.manufacturer_id and (
        order.quantity_delivered > 0
        or order.new_tokens_delivered > 0
        or order.new_deliveries.exists()
    ):
        raise OrderError("manufacturer_fixed")
    purchase_order_products_check(
        manufacturer_id=manufacturer_id,
        product_ids=list(product_ids)
        if product_ids is not None
        else list(order.products.values_list("pk", flat=True)),
    )
    return order


def purchase_order_products_check(*, manufacturer_id: int, product_ids: list[int]) -> None:
    """Refuse (``OrderError``) products of another manufacturer than the order's: their new
    tokens would show in the wrong tenant's portal. PostgreSQL checks the same at commit."""
    strangers = (
        Product.objects.filter(pk__in=product_ids)
        .exclude(manufacturer_id=manufacturer_id)
        .order_by("product_id")
        .values_list("product_id", flat=True)
    )
    if strangers:
        raise OrderError("product_of_other_manufacturer", products=", ".join(strangers))


def purchase_order_update(
    *,
    order_id: int,
    values: dict[str, Any],
    product_ids: Iterable[int] | None = None,
) -> PurchaseOrder:
    """Write a staff change of an order: only the fields in ``values`` (``update_fields``),
    under the order's row lock, after ``purchase_order_update_check``; products set when
    ``product_ids`` is given. The counters are never written here, so a take committed while
    staff edited the page is never undone. Raises as ``purchase_order_update_check``.
    """
    product_ids = list(product_ids) if product_ids is not None else None
    with transaction.atomic():
        order = purchase_order_update_check(
            order_id=order_id, values=values, product_ids=product_ids
        )
        if (
            "quantity_ordered" in values
            and values.get("status", order.status) != PurchaseOrder.Status.CANCELLED
        ):
            # A new ordered quantity can turn "Delivered" into "Partially delivered" and back.
            values = {
                **values,
                "status": _status_for(
                    delivered=order.quantity_delivered, ordered=values["quantity_ordered"]
                ),
            }
        for name, value in values.items():
            setattr(order, name, value)
        if values:
            order.full_clean(exclude=["products"], validate_unique=False)
            order.save(update_fields=sorted(values))
        if product_ids is not None:
            order.products.set(product_ids)
    return order


def product_update_check(*, product_id: int, values: dict[str, Any]) -> Product:
    """Lock the product row and check a staff change of it; returns the locked product.

    Call inside ``transaction.atomic()``. A product's manufacturer cannot change while it is
    on an order of its manufacturer or in a new delivery: its tokens would change tenant.
    Raises ``OrderError`` and ``ValueError`` (a field not in ``PRODUCT_EDITABLE_FIELDS``).
    """
    product = _lock_for_staff_edit(Product, pk=product_id, fields=set(values))
    manufacturer = values.get("manufacturer", product.manufacturer)
    if manufacturer.pk != product.manufacturer_id:
        # Orders it is on, or whose new deliveries are of it (a module order's new tokens may
        # be of a product not on the order: rule R6).
        orders = (
            PurchaseOrder.objects.filter(Q(products=product) | Q(new_deliveries__product=product))
            .distinct()
            .order_by("number")
            .values_list("number", flat=True)
        )
        if orders:
            raise OrderError("product_manufacturer_fixed", orders=", ".join(orders[:5]))
    return product


def product_update(
    *, product_id: int, values: dict[str, Any], module_ids: Iterable[int] | None = None
) -> Product:
    """Write a staff change of a product: only the fields in ``values``, under its row lock,
    after ``product_update_check``; modules set when ``module_ids`` is given."""
    with transaction.atomic():
        product = product_update_check(product_id=product_id, values=values)
        for name, value in values.items():
            setattr(product, name, value)
        if values:
            product.save(update_fields=sorted(values))
        if module_ids is not None:
            product.modules.set(list(module_ids))
    return product
