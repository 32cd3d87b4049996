from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from accounts.access import PortalRequest, manufacturer_required
from audit.forms import ActivityFilterForm
from audit.selectors import activity_actions, activity_for_manufacturer, activity_people
from audit.sentences import Viewer, sentences_attach
from refurb_portal.pages import paginate, render_page


def _filtered(request: PortalRequest) -> tuple[ActivityFilterForm, dict[str, Any]]:
    """The filter form bound to the query string, and the valid filters it holds."""
    manufacturer = request.manufacturer
    form = ActivityFilterForm(
        request.GET or None,
        actions=activity_actions(manufacturer=manufacturer),
        people=activity_people(manufacturer=manufacturer),
    )
    return form, (form.valid_filters() if request.GET else {})


@require_GET
@manufacturer_required
def activity_view(request: PortalRequest) -> HttpResponse:
    """Activity: the manufacturer's own company's events, newest first, as sentences,
    filterable by person, event and dates (all kept in the URL)."""
    form, filters = _filtered(request)
    events = activity_for_manufacturer(manufacturer=request.manufacturer, **filters)
    listing = paginate(request, events, per_page=settings.AUDIT_EVENTS_PER_PAGE)
    sentences_attach(listing["page"].object_list, viewer=Viewer.PORTAL)
    context = {"form": form, "has_filters": any(filters.values()), **listing}
    return render_page(request, "audit/activity.html", context)
