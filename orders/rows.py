"""The Purchase Order table's rows, every text worked out in Python once per page.

The template asked each of 25 to 100 rows for two lazy labels (``get_order_type_display``,
``get_status_display``: a translation lookup each), two or three ``{% url %}`` reversals and four
``|intcomma``; here each label, URL pattern and number format is looked up once a page
(``refurb_portal.pages``) and a row costs string operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.formats import date_format
from django.utils.timezone import localtime

from orders.models import PurchaseOrder
from refurb_portal.pages import grouping, url_for_each

if TYPE_CHECKING:
    from deliveries.selectors import NewDeliveryOptions


@dataclass(frozen=True)
class OrderRow:
    """What ``orders/_purchase_order_table.html`` shows of one order, ready to print."""

    number: str
    detail_url: str
    contract_number: str
    order_type: str
    module_code: str
    products: list[tuple[str, str]]  # (product ID, name)
    ordered: str
    delivered: str
    new_tokens_delivered: str
    available: str
    status: str  # the value (the badge's class)
    status_label: str
    created_iso: str
    created: str
    initiate_url: str  # "" when Initiate new delivery is not offered (R1) or the role may not
    delivery_list_url: str  # "" when the order has no new delivery


def order_rows(options: Sequence[NewDeliveryOptions], *, may_take: bool) -> list[OrderRow]:
    """One ``OrderRow`` for each order's options (``new_delivery_options``, in page order),
    in the active language and time zone. Each order must have ``products`` prefetched and
    ``module`` joined (``orders.selectors.purchase_order_list``). ``may_take``: whether the
    user's role may take a delivery (``accounts.access.role_allows``, "delivery.take"); when
    not, no row offers Initiate new delivery, as the order page does not."""
    types = {value: str(label) for value, label in PurchaseOrder.OrderType.choices}
    statuses = {value: str(label) for value, label in PurchaseOrder.Status.choices}
    detail = url_for_each("orders:order_detail")
    initiate = url_for_each("deliveries:initiate")
    delivery_list = url_for_each("deliveries:order_delivery_list")
    grouped = grouping()
    rows = []
    for option in options:
        order = option.order
        created = localtime(order.created_at)
        rows.append(
            OrderRow(
                number=order.number,
                detail_url=detail(order.number),
                contract_number=order.contract_number,
                order_type=types.get(order.order_type, order.order_type),
                module_code=order.module.code if order.module else "",
                products=[(p.product_id, p.name) for p in order.products.all()],
                ordered=grouped(order.quantity_ordered),
                delivered=grouped(order.quantity_delivered),
                new_tokens_delivered=grouped(order.new_tokens_delivered),
                available=grouped(option.available),
                status=order.status,
                status_label=statuses.get(order.status, order.status),
                created_iso=created.isoformat(),
                created=date_format(created, "SHORT_DATE_FORMAT"),
                initiate_url=initiate(order.number) if may_take and option.offered else "",
                delivery_list_url=delivery_list(order.number) if option.has_new_deliveries else "",
            )
        )
    return rows
