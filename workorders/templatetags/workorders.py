"""``{% load workorders %}{% refurbishment_tool_notice %}``: the refurbishment-tool notice (R12)
for the token pages. It needs ``request`` in the context; ``order`` is used when present."""

from __future__ import annotations

from typing import Any

from django import template

from orders.models import PurchaseOrder
from tokens.selectors import last_downloaded_order
from workorders.selectors import tool_request_for_manufacturer, tool_request_url

register = template.Library()


@register.inclusion_tag("workorders/_tool_notice.html", takes_context=True)
def refurbishment_tool_notice(
    context: template.Context, *, after_download: bool = False
) -> dict[str, Any]:
    """Rule R12, the one place the notice is decided. A tool request exists: link to the latest
    with its status. None yet: say the tool is needed and link to the form prefilled with the
    page's order; with ``after_download`` only once the manufacturer has downloaded a token
    file (its ``TokenDownload`` rows), prefilled with that file's order. Nothing for users
    without a manufacturer."""
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
        "request_url": tool_request_url(order=order if own_order else None),
    }
