"""The columns of the Purchase Order list's exports (refurb_portal.exports): what the page
shows of each order, one cell a fact, numbers as numbers."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from orders.models import PurchaseOrder
from refurb_portal.exports import Column


def _products(order: PurchaseOrder) -> str:
    # Prefetched with the list (purchase_order_list), per chunk of the export's iterator.
    return "; ".join(str(product) for product in order.products.all())


PURCHASE_ORDER_COLUMNS: tuple[Column[PurchaseOrder], ...] = (
    Column(_("Order number"), lambda order: order.number),
    Column(_("Contract number"), lambda order: order.contract_number),
    Column(_("Order type"), lambda order: str(order.get_order_type_display())),
    Column(_("Module"), lambda order: order.module.code if order.module else ""),
    Column(_("Products"), _products),
    Column(_("Ordered"), lambda order: order.quantity_ordered),
    Column(_("Delivered"), lambda order: order.quantity_delivered),
    Column(_("New tokens delivered"), lambda order: order.new_tokens_delivered),
    Column(_("Available"), lambda order: order.available_new_tokens),
    Column(_("Status"), lambda order: str(order.get_status_display())),
    Column(_("Created"), lambda order: order.created_at),
)
