from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.access import PortalRequest, manufacturer_required
from audit.actions import action_label
from audit.forms import ActivityFilterForm
from audit.models import AuditEvent
from audit.selectors import activity_actions, activity_for_manufacturer, activity_people
from audit.sentences import EMPTY, Rendered, Viewer, sentences_attach, sentences_stream
from refurb_portal.exports import EXPORT_CHUNK_ROWS, Column, export_response
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


# The columns of the Activity export: what the page's table shows, the sentence as plain text.
EXPORT_COLUMNS: tuple[Column[tuple[AuditEvent, Rendered]], ...] = (
    Column(_("When"), lambda row: row[0].occurred_at),
    Column(_("Who"), lambda row: row[0].who or EMPTY),
    Column(_("What"), lambda row: action_label(row[0].action)),
    Column(_("Details"), lambda row: row[1].text),
)


# manufacturer_required is typed for HttpResponse; an export is a streaming or file response.
@require_GET
@manufacturer_required  # type: ignore[arg-type]
def activity_export_view(request: PortalRequest, file_format: str) -> HttpResponseBase:
    """The Activity rows of the current filters (the same query string as the page) as CSV or
    .xlsx, streamed: the events are read in chunks through a server-side cursor and rendered
    a chunk at a time (``audit.sentences.sentences_stream``)."""
    _form, filters = _filtered(request)
    events = activity_for_manufacturer(manufacturer=request.manufacturer, **filters)
    rows = sentences_stream(
        events.iterator(chunk_size=EXPORT_CHUNK_ROWS), viewer=Viewer.PORTAL, batch=EXPORT_CHUNK_ROWS
    )
    return export_response(
        rows=rows, columns=EXPORT_COLUMNS, file_format=file_format, filename="activity"
    )
