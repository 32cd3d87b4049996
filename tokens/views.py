from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.access import PortalRequest, manufacturer_required
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder


@manufacturer_required
def delivery_list_view(request: PortalRequest) -> HttpResponse:
    deliveries = NewDelivery.objects.filter(order__manufacturer=request.manufacturer)
    return render(request, "tokens/delivery_list.html", {"deliveries": deliveries})


@manufacturer_required
def order_delivery_list_view(request: PortalRequest, number: str) -> HttpResponse:
    order = get_object_or_404(PurchaseOrder, number=number, manufacturer=request.manufacturer)
    return render(
        request,
        "tokens/delivery_list.html",
        {"order": order, "deliveries": order.new_deliveries.all()},
    )
