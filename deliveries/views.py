from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.access import PortalRequest, manufacturer_required
from orders.models import PurchaseOrder


@manufacturer_required
def initiate_new_delivery_view(request: PortalRequest, number: str) -> HttpResponse:
    order = get_object_or_404(PurchaseOrder, number=number, manufacturer=request.manufacturer)
    return render(request, "deliveries/initiate.html", {"order": order})
