from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from accounts.access import PortalRequest, manufacturer_required


@manufacturer_required
def work_order_list_view(request: PortalRequest) -> HttpResponse:
    return render(request, "workorders/list.html", {})
