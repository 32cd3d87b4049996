"""Reads for the API: a manufacturer's keys, and what the API shows of orders and deliveries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import Manufacturer
from api.models import ApiKey
from deliveries.selectors import eligible_products_for_order
from orders.models import Product, PurchaseOrder
from orders.selectors import Availability, is_eligible_for_new_delivery, order_availability


def api_key_list(*, manufacturer: Manufacturer) -> QuerySet[ApiKey]:
    """The manufacturer's keys, newest first, revoked ones included (greyed in the portal)."""
    return ApiKey.objects.filter(manufacturer=manufacturer).select_related(
        "created_by", "revoked_by"
    )


@dataclass(frozen=True)
class TakeOptions:
    """What a take on ``order`` may choose from now: the availability and eligible products."""

    availability: Availability
    products: list[Product]
    can_take: bool


def take_options(*, order: PurchaseOrder) -> TakeOptions:
    """The order's availability with how it is reached, and its eligible products (R1, R5-R7).

    The one place the API asks this; it becomes ``deliveries.selectors.new_delivery_options``
    once that exists, so the API and the portal read it the same way.
    """
    availability = order_availability(order_id=order.pk)
    products = list(eligible_products_for_order(order=order))
    can_take = is_eligible_for_new_delivery(order) and availability.available > 0 and bool(products)
    return TakeOptions(availability=availability, products=products, can_take=can_take)
