from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.access import PortalRequest, manufacturer_required
from orders.forms import PurchaseOrderFilterForm
from orders.selectors import purchase_order_list


@require_GET
@vary_on_headers("HX-Request")
@manufacturer_required
def purchase_order_list_view(request: PortalRequest) -> HttpResponse:
    """Purchase > Order Management > Purchase Order."""
    form = PurchaseOrderFilterForm(request.GET or None)
    filters = form.valid_filters() if request.GET else {}
    orders = purchase_order_list(manufacturer=request.manufacturer, **filters)  # type: ignore[arg-type]
    page = Paginator(orders, settings.PURCHASE_ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "has_filters": any(filters.values()) if filters else False,
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "orders/purchase_order_list.html#results", context)
    return render(request, "orders/purchase_order_list.html", context)
