from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from accounts.access import PortalRequest, manufacturer_required
from audit.actions import action_label
from audit.forms import ActivityFilterForm
from audit.selectors import activity_actions, activity_for_manufacturer
from refurb_portal.pages import paginate, render_page


@require_GET
@manufacturer_required
def activity_view(request: PortalRequest) -> HttpResponse:
    """Activity: the manufacturer's own company's events, newest first, filterable."""
    form = ActivityFilterForm(
        request.GET or None, actions=activity_actions(manufacturer=request.manufacturer)
    )
    filters = form.valid_filters() if request.GET else {}
    events = activity_for_manufacturer(manufacturer=request.manufacturer, **filters)  # type: ignore[arg-type]
    listing = paginate(request, events, per_page=settings.AUDIT_EVENTS_PER_PAGE)
    for event in listing["page"].object_list:
        event.label = action_label(event.action)
    context = {"form": form, "has_filters": any(filters.values()), **listing}
    return render_page(request, "audit/activity.html", context)
