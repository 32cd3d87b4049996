"""``{% load workorders %}{% refurbishment_tool_notice %}``: the refurbishment-tool notice (R12)
for the token pages. It needs ``request`` in the context; ``order`` is used when present."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from orders.models import PurchaseOrder
from tokens.selectors import last_downloaded_order
from workorders.models import WorkOrder
from workorders.selectors import tool_request_for_manufacturer, tool_request_url

register = template.Library()

Status = WorkOrder.Status
# What the notice says of the latest tool request, a whole sentence for each status (a status
# label dropped into one sentence read "... is To be dispatched.").
TOOL_REQUEST_SENTENCES: dict[str, Promise] = {
    Status.TO_BE_DISPATCHED: _(
        "We have received your request for the refurbishment tool, %(number)s; it is waiting "
        "for a staff member to take it."
    ),
    Status.TO_BE_PROCESSED: _(
        "A staff member has taken your request for the refurbishment tool, %(number)s, and "
        "will start on it soon."
    ),
    Status.PROCESSING: _(
        "Staff are working on your request for the refurbishment tool, %(number)s."
    ),
    Status.AWAITING_FEEDBACK: _(
        "Staff need more information for your request for the refurbishment tool, %(number)s: "
        "please reply to it."
    ),
    Status.AWAITING_CONFIRMATION: _(
        "The refurbishment tool is ready on your request %(number)s: download it, and confirm "
        "the request once it works for you."
    ),
    Status.COMPLETED: _("Your request for the refurbishment tool, %(number)s, is completed."),
    Status.CLOSED: _("Your request for the refurbishment tool, %(number)s, is closed."),
}


@register.inclusion_tag("workorders/_tool_notice.html", takes_context=True)
def refurbishment_tool_notice(
    context: template.Context, *, after_download: bool = False
) -> dict[str, Any]:
    """Rule R12, the one place the notice is decided. A tool request exists: link to the latest
    with its status said as a sentence (``TOOL_REQUEST_SENTENCES``). None yet: say the tool is
    needed and link to the form prefilled with the page's order; with ``after_download`` only
    once the manufacturer has downloaded a token file (its ``TokenDownload`` rows), prefilled
    with that file's order. Nothing for users without a manufacturer."""
    request = context.get("request")
    manufacturer = getattr(getattr(request, "user", None), "manufacturer", None)
    if manufacturer is None:
        return {"show": False}
    tool_request = tool_request_for_manufacturer(manufacturer=manufacturer)
    order = context.get("order")
    if after_download:
        order = last_downloaded_order(manufacturer=manufacturer)
        if tool_request is None and order is None:
            return {"show": False}
    own_order = isinstance(order, PurchaseOrder) and order.manufacturer_id == manufacturer.pk
    return {
        "show": True,
        "tool_request": tool_request,
        "tool_request_sentence": (
            str(TOOL_REQUEST_SENTENCES[tool_request.status]) % {"number": tool_request.number}
            if tool_request is not None
            else ""
        ),
        "request_url": tool_request_url(order=order if own_order else None),
    }
