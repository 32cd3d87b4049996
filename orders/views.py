from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from accounts.access import PortalRequest, manufacturer_required
from deliveries.selectors import new_delivery_options
from orders.forms import PurchaseOrderFilterForm
from orders.selectors import purchase_order_list
from refurb_portal.pages import paginate, render_page


@require_GET
@manufacturer_required
def purchase_order_list_view(request: PortalRequest) -> HttpResponse:
    """Purchase > Order Management > Purchase Order."""
    form = PurchaseOrderFilterForm(request.GET or None)
    filters = form.valid_filters() if request.GET else {}
    orders = purchase_order_list(manufacturer=request.manufacturer, **filters)  # type: ignore[arg-type]
    listing = paginate(request, orders, per_page=settings.PURCHASE_ORDERS_PER_PAGE)
    # Each row's actions come from the one home of the rule (no query: the row's counters).
    rows = [new_delivery_options(order=order) for order in listing["page"].object_list]
    context = {"form": form, "has_filters": any(filters.values()), "rows": rows, **listing}
    return render_page(request, "orders/purchase_order_list.html", context)
