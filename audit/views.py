from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from accounts.access import PortalRequest, manufacturer_required
from audit.models import AuditEvent


@manufacturer_required
def activity_view(request: PortalRequest) -> HttpResponse:
    """The manufacturer's own company's events, newest first."""
    events = AuditEvent.objects.filter(manufacturer=request.manufacturer)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "audit/activity.html", {"page": page, "query": ""})
