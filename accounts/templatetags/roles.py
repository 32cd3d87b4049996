"""``{% role_refusal "delivery.take" as refusal %}``: why the logged-in user's role may not do an
action (``accounts.access.role_refusal``), or ``""``; pages hide or disable the button with it."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.access import role_refusal as refusal_for

register = template.Library()


@register.simple_tag(takes_context=True)
def role_refusal(context: dict[str, Any], action: str) -> str:
    """The refusal of ``action`` to the context's user, worked out once a request: a table
    asks it on every row (its download and void buttons)."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return ""
    request = context.get("request")
    known: dict[tuple[int, str], str] = getattr(request, "_role_refusals", {})
    key = (user.pk, action)
    if key not in known:
        known[key] = refusal_for(user=user, action=action)
        if request is not None:
            request._role_refusals = known
    return known[key]
