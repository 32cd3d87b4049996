"""Reads for tokens and token files; tenancy is applied here, so views cannot forget it."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Manufacturer
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder


def new_delivery_list(
    *, manufacturer: Manufacturer, order: PurchaseOrder | None = None
) -> QuerySet[NewDelivery]:
    """The manufacturer's new deliveries (one order's, when given), newest first, with what the
    New delivery list of Token shows joined in, so a page costs the same queries for 1 or 25."""
    deliveries = NewDelivery.objects.filter(order__manufacturer=manufacturer).select_related(
        "order", "product", "taken_by", "file"
    )
    if order is not None:
        deliveries = deliveries.filter(order=order)
    return deliveries.order_by("-taken_at", "-id")
