"""Reads for token files; tenancy is applied here, so views cannot forget it."""

from __future__ import annotations

from accounts.models import Manufacturer
from orders.models import PurchaseOrder
from tokens.models import TokenDownload, TokenFile


def token_file_for_delivery(*, manufacturer: Manufacturer, delivery_id: int) -> TokenFile | None:
    """The token file of new delivery ``delivery_id`` if its order is ``manufacturer``'s; None
    for another manufacturer's delivery or one without a file (both a 404 to the caller)."""
    return (
        TokenFile.objects.filter(
            delivery_id=delivery_id, delivery__order__manufacturer=manufacturer
        )
        .select_related("delivery__order__manufacturer", "delivery__product")
        .first()
    )


def last_downloaded_order(*, manufacturer: Manufacturer) -> PurchaseOrder | None:
    """The order of the manufacturer's latest token-file download in the portal, or None when
    its users have downloaded none (R12: the first download is when they need the
    refurbishment tool). Staff downloads in the admin do not count."""
    return (
        PurchaseOrder.objects.filter(
            new_deliveries__file__downloads__channel=TokenDownload.Channel.PORTAL,
            manufacturer=manufacturer,
        )
        .order_by("-new_deliveries__file__downloads__downloaded_at")
        .first()
    )
