"""Reads of orders. Availability is computed in the database, never by looping in Python."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from accounts.models import Manufacturer
from orders.models import PurchaseOrder


@dataclass(frozen=True)
class Availability:
    """How an order's available new tokens are reached (shown beside the count)."""

    ordered: int
    delivered: int
    original_delivery_count: int
    new_tokens_delivered: int
    new_delivery_count: int

    @property
    def available(self) -> int:
        return self.delivered - self.new_tokens_delivered

    @property
    def undelivered(self) -> int:
        return self.ordered - self.delivered


def order_availability(*, order_id: int) -> Availability:
    """One query: the order's counters with the number of original and new deliveries."""
    row = (
        PurchaseOrder.objects.filter(pk=order_id)
        .annotate(
            original_delivery_count=Count("original_deliveries", distinct=True),
            new_delivery_count=Count("new_deliveries", distinct=True),
        )
        .values(
            "quantity_ordered",
            "quantity_delivered",
            "new_tokens_delivered",
            "original_delivery_count",
            "new_delivery_count",
        )
        .get()
    )
    return Availability(
        ordered=row["quantity_ordered"],
        delivered=row["quantity_delivered"],
        original_delivery_count=row["original_delivery_count"],
        new_tokens_delivered=row["new_tokens_delivered"],
        new_delivery_count=row["new_delivery_count"],
    )


def order_counters_from_rows(*, order_id: int) -> tuple[int, int]:
    """The two counters recomputed from the delivery rows, to check them (tests, bench, admin)."""
    order = PurchaseOrder.objects.filter(pk=order_id).annotate(
        delivered_sum=Coalesce(Sum("original_deliveries__quantity", distinct=False), 0),
    )
    delivered = order.values_list("delivered_sum", flat=True).get()
    new_sum = (
        PurchaseOrder.objects.filter(pk=order_id)
        .annotate(new_sum=Coalesce(Sum("new_deliveries__quantity"), 0))
        .values_list("new_sum", flat=True)
        .get()
    )
    return delivered, new_sum


def purchase_order_list(
    *,
    manufacturer: Manufacturer,
    search: str = "",
    order_type: str = "",
    status: str = "",
    created_from: dt.date | None = None,
    created_to: dt.date | None = None,
) -> QuerySet[PurchaseOrder]:
    """A manufacturer's orders, newest first, with ``available`` annotated and products
    prefetched, so the page costs the same number of queries for 1 order or 50."""
    qs = (
        PurchaseOrder.objects.filter(manufacturer=manufacturer)
        .select_related("module")
        .prefetch_related("products")
        .annotate(available=F("quantity_delivered") - F("new_tokens_delivered"))
    )
    if order_type:
        qs = qs.filter(order_type=order_type)
    if status:
        qs = qs.filter(status=status)
    if created_from:
        qs = qs.filter(created_at__date__gte=created_from)
    if created_to:
        qs = qs.filter(created_at__date__lte=created_to)
    if search:
        term = search.strip()
        matching_products = PurchaseOrder.products.through.objects.filter(
            Q(product__product_id__iexact=term) | Q(product__name__icontains=term)
        ).values("purchaseorder_id")
        qs = qs.filter(
            Q(number__icontains=term)
            | Q(contract_number__icontains=term)
            | Q(pk__in=matching_products)
        )
    return qs.order_by("-created_at", "-id")
