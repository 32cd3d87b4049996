"""The columns of the New delivery list's exports (refurb_portal.exports): what the list shows
of each delivery, one cell a fact, the quantity as a number."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from deliveries.models import NewDelivery
from refurb_portal.exports import Column


def _file_state(delivery: NewDelivery) -> str:
    token_file = getattr(delivery, "file", None)
    return str(token_file.get_status_display()) if token_file is not None else ""


def _taken_by(delivery: NewDelivery) -> str:
    user = delivery.taken_by
    return user.get_full_name() or user.get_username()


NEW_DELIVERY_COLUMNS: tuple[Column[NewDelivery], ...] = (
    Column(_("Delivery number"), lambda delivery: delivery.number),
    Column(_("Order number"), lambda delivery: delivery.order.number),
    Column(_("Time"), lambda delivery: delivery.taken_at),
    Column(_("Product"), lambda delivery: delivery.product.name),
    Column(_("Product ID"), lambda delivery: delivery.product.product_id),
    Column(_("Quantity"), lambda delivery: delivery.quantity),
    Column(_("Taken by"), _taken_by),
    Column(_("File"), _file_state),
    Column(_("Voided"), lambda delivery: delivery.voided_at),
    Column(_("Reason for voiding"), lambda delivery: delivery.void_reason),
)
