"""Reads for new deliveries: which products an order's new tokens apply to, and the New
delivery list of Token; tenancy is applied here, so views cannot forget it."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Manufacturer
from deliveries.models import NewDelivery
from orders.models import Product, PurchaseOrder


def eligible_products_for_order(*, order: PurchaseOrder) -> QuerySet[Product]:
    """Rules R6 and R7, never crossing manufacturers.

    Module order: the manufacturer's products that use the ordered module, or that are in the
    category of an ordered product. Device license order: exactly the order's products.
    """
    own = Product.objects.filter(manufacturer_id=order.manufacturer_id)
    if order.order_type == PurchaseOrder.OrderType.MODULE:
        ordered_categories = order.products.values("category_id")
        return (
            own.filter(Q(modules=order.module_id) | Q(category_id__in=ordered_categories))
            .distinct()
            .order_by("name")
        )
    return own.filter(purchase_orders=order).order_by("name")


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
