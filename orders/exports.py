"""The columns of the Purchase Order list's exports (refurb_portal.exports): what the page
shows of each order, one cell a fact, numbers as numbers. The rows come from
``orders.selectors.with_product_names`` (the products prefetched per chunk)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from orders.models import PurchaseOrder
from orders.selectors import product_names
from refurb_portal.exports import Column, choice_label

_order_type = choice_label(PurchaseOrder.OrderType.choices)
_status = choice_label(PurchaseOrder.Status.choices)

PURCHASE_ORDER_COLUMNS: tuple[Column[PurchaseOrder], ...] = (
    Column(_("Order number"), lambda order: order.number),
    Column(_("Contract number"), lambda order: order.contract_number),
    Column(_("Order type"), lambda order: _order_type(order.order_type)),
    Column(_("Module"), lambda order: order.module.code if order.module else ""),
    Column(_("Products"), product_names),
    Column(_("Ordered"), lambda order: order.quantity_ordered),
    Column(_("Delivered"), lambda order: order.quantity_delivered),
    Column(_("New tokens delivered"), lambda order: order.new_tokens_delivered),
    Column(_("Available"), lambda order: order.available_new_tokens),
    Column(_("Status"), lambda order: _status(order.status)),
    Column(_("Created"), lambda order: order.created_at),
)
