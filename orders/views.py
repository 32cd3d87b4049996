from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import PortalRequest, manufacturer_required, role_allows
from audit.actions import action_label
from audit.models import AuditEvent
from audit.selectors import activity_for_manufacturer
from deliveries.selectors import new_delivery_list, new_delivery_options
from orders.exports import PURCHASE_ORDER_COLUMNS
from orders.forms import PurchaseOrderFilterForm
from orders.models import PurchaseOrder
from orders.rows import order_rows
from orders.selectors import (
    DEFAULT_PURCHASE_ORDER_SORT,
    order_original_deliveries,
    purchase_order_for_manufacturer,
    purchase_order_list,
    with_product_names,
)
from refurb_portal.exports import EXPORT_CHUNK_ROWS, export_response
from refurb_portal.pages import paginate, render_page
from workorders.selectors import work_order_list

# The sortable columns of the Purchase Order list and the direction of a first click on each.
SORTABLE_COLUMNS = {
    "number": "number",
    "created": "-created",
    "ordered": "-ordered",
    "delivered": "-delivered",
    "available": "-available",
}


@dataclass(frozen=True)
class SortHeader:
    """A column heading's link: the list sorted by it (reversed when it is the sort already)
    and the column's ``aria-sort`` ("ascending", "descending" or "" when not sorted by it)."""

    query: str
    aria_sort: str


def _orders(
    request: PortalRequest,
) -> tuple[PurchaseOrderFilterForm, bool, QuerySet[PurchaseOrder]]:
    """The filter form as the URL fills it, whether it filters, and the orders it selects."""
    form = PurchaseOrderFilterForm(request.GET or None)
    filters = form.valid_filters() if request.GET else {}
    orders = purchase_order_list(
        manufacturer=request.manufacturer,
        sort=form.sort_key,
        **filters,  # type: ignore[arg-type]
    )
    return form, any(filters.values()), orders


def _sort_headers(request: PortalRequest, current: str) -> dict[str, SortHeader]:
    headers = {}
    for column, first in SORTABLE_COLUMNS.items():
        direction = {column: "ascending", f"-{column}": "descending"}.get(current, "")
        query = request.GET.copy()
        query.pop("page", None)
        query["sort"] = {"ascending": f"-{column}", "descending": column}.get(direction, first)
        if query["sort"] == DEFAULT_PURCHASE_ORDER_SORT:
            del query["sort"]  # the default stays out of the URL (the Sort by menu's empty choice)
        headers[column] = SortHeader(query=query.urlencode(), aria_sort=direction)
    return headers


@require_GET
@manufacturer_required
def purchase_order_list_view(request: PortalRequest) -> HttpResponse:
    """Purchase > Order Management > Purchase Order."""
    form, has_filters, orders = _orders(request)
    listing = paginate(request, orders, per_page=form.page_size, count_cap=settings.LIST_COUNT_CAP)
    # Each row's actions come from the one home of the rule (no query: the row's counters).
    rows = order_rows(
        [new_delivery_options(order=o) for o in listing["page"].object_list],
        may_take=role_allows(user=request.user, action="delivery.take"),
    )
    context = {"form": form, "has_filters": has_filters, "rows": rows, **listing}
    context["sort_headers"] = _sort_headers(request, form.sort_key)
    # A heading's link changes the sort: the Sort by menu outside the results follows it.
    context["sort_swap"] = bool(request.htmx and (request.htmx.trigger or "").startswith("sort-"))
    return render_page(request, "orders/purchase_order_list.html", context)


@require_GET
@manufacturer_required  # type: ignore[arg-type]  # typed for HttpResponse; an export streams
def purchase_order_export_view(request: PortalRequest, file_format: str) -> HttpResponseBase:
    """The Purchase Order list's rows under the URL's filters and sort, every page, as a file."""
    _form, _has_filters, orders = _orders(request)
    return export_response(
        rows=with_product_names(orders).iterator(chunk_size=EXPORT_CHUNK_ROWS),
        columns=PURCHASE_ORDER_COLUMNS,
        file_format=file_format,
        filename="purchase-orders",
    )


# What the order page shows of the newest of an order's new deliveries and events; the full
# lists are linked.
ORDER_PAGE_NEW_DELIVERIES = 10
ORDER_PAGE_EVENTS = 10


def _labelled(events: QuerySet[AuditEvent]) -> list[AuditEvent]:
    """The newest events, each with its action's label (as the Activity page shows them)."""
    newest = list(events[:ORDER_PAGE_EVENTS])
    for event in newest:
        event.label = action_label(event.action)  # type: ignore[attr-defined]
    return newest


@require_GET
@manufacturer_required
def order_detail_view(request: PortalRequest, number: str) -> HttpResponse:
    """One order: its facts, usage, deliveries, work orders and Activity (another's is a 404)."""
    try:
        order = purchase_order_for_manufacturer(manufacturer=request.manufacturer, number=number)
    except PurchaseOrder.DoesNotExist:
        raise Http404 from None
    manufacturer = request.manufacturer
    new_deliveries = new_delivery_list(manufacturer=manufacturer, order=order)
    context = {
        "order": order,
        "options": new_delivery_options(order=order),
        "original_deliveries": order_original_deliveries(order_id=order.pk),
        "new_deliveries": new_deliveries[:ORDER_PAGE_NEW_DELIVERIES],
        "work_orders": work_order_list(manufacturer=manufacturer).filter(order=order),
        "events": _labelled(
            activity_for_manufacturer(manufacturer=manufacturer, order=order.number)
        ),
        # The submit form and the Activity page both take the order as ``?order=<number>``.
        "order_query": urlencode({"order": order.number}),
    }
    return render(request, "orders/order_detail.html", context)
