from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.access import PortalRequest, manufacturer_required
from audit.actions import action_label
from audit.forms import ActivityFilterForm
from audit.selectors import activity_actions, activity_for_manufacturer


@require_GET
@vary_on_headers("HX-Request")
@manufacturer_required
def activity_view(request: PortalRequest) -> HttpResponse:
    """Activity: the manufacturer's own company's events, newest first, filterable."""
    form = ActivityFilterForm(
        request.GET or None, actions=activity_actions(manufacturer=request.manufacturer)
    )
    filters = form.valid_filters() if request.GET else {}
    events = activity_for_manufacturer(manufacturer=request.manufacturer, **filters)  # type: ignore[arg-type]
    page = Paginator(events, settings.AUDIT_EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    for event in page.object_list:
        event.label = action_label(event.action)  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "has_filters": any(filters.values()) if filters else False,
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "audit/activity.html#results", context)
    return render(request, "audit/activity.html", context)
