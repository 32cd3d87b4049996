"""``{% load workorders %}{% refurbishment_tool_notice %}``: the refurbishment-tool notice (R12)
for the token pages. It needs ``request`` in the context; ``order`` is used when present."""

from __future__ import annotations

from typing import Any

from django import template

from orders.models import PurchaseOrder
from workorders.selectors import tool_request_for_manufacturer, tool_request_url

register = template.Library()


@register.inclusion_tag("workorders/_tool_notice.html", takes_context=True)
def refurbishment_tool_notice(context: template.Context) -> dict[str, Any]:
    """No request yet: say the tool is needed and link to the prefilled form. Otherwise: link
    to the latest request with its status. Nothing for users without a manufacturer."""
    request = context.get("request")
    manufacturer = getattr(getattr(request, "user", None), "manufacturer", None)
    if manufacturer is None:
        return {"show": False}
    order = context.get("order")
    tool_request = tool_request_for_manufacturer(manufacturer=manufacturer)
    return {
        "show": True,
        "tool_request": tool_request,
        "request_url": tool_request_url(
            order=order
            if isinstance(order, PurchaseOrder) and order.manufacturer_id == manufacturer.pk
            else None
        ),
    }
