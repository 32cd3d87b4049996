"""``{% role_refusal "delivery.take" as refusal %}``: why the logged-in user's role may not do an
action (``accounts.access.role_refusal``), or ``""``; pages hide or disable the button with it."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.access import role_refusal as refusal_for

register = template.Library()


@register.simple_tag(takes_context=True)
def role_refusal(context: dict[str, Any], action: str) -> str:
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return ""
    return refusal_for(user=user, action=action)
