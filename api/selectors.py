"""Reads for the API: a manufacturer's keys, and what the API shows of orders and deliveries."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Manufacturer
from api.models import ApiKey
from deliveries.selectors import NewDeliveryOptions, new_delivery_options
from orders.models import PurchaseOrder


def api_key_list(*, manufacturer: Manufacturer) -> QuerySet[ApiKey]:
    """The manufacturer's keys, newest first, revoked ones included (greyed in the portal)."""
    return ApiKey.objects.filter(manufacturer=manufacturer).select_related(
        "created_by", "revoked_by"
    )


def take_options(*, order: PurchaseOrder) -> NewDeliveryOptions:
    """What a take on ``order`` may choose from now, read as the portal reads it (R1, R5-R7)."""
    return new_delivery_options(order=order)
