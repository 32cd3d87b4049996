"""Reads for token files; tenancy is applied here, so views cannot forget it."""

from __future__ import annotations

from accounts.models import Manufacturer
from tokens.models import TokenFile


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
