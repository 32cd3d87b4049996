"""Reads of the audit trail. A manufacturer reads only its own company's events."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from audit.actions import action_label
from audit.models import AuditEvent

if TYPE_CHECKING:
    # Typing only: audit sits below accounts in the stack of apps (tests/test_layers.py).
    from accounts.models import Manufacturer


def activity_for_manufacturer(
    *,
    manufacturer: Manufacturer,
    action: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """The company's events, newest first, optionally of one action and within dates
    (inclusive, in the active time zone's days)."""
    events = AuditEvent.objects.filter(manufacturer=manufacturer)
    if action:
        events = events.filter(action=action)
    if date_from:
        events = events.filter(occurred_at__date__gte=date_from)
    if date_to:
        events = events.filter(occurred_at__date__lte=date_to)
    return events.order_by("-occurred_at", "-id")


def activity_actions(*, manufacturer: Manufacturer) -> list[tuple[str, str]]:
    """The actions that occur in the company's events, as (code, translated label)."""
    codes = (
        AuditEvent.objects.filter(manufacturer=manufacturer)
        .order_by()
        .values_list("action", flat=True)
        .distinct()
    )
    return sorted(((code, action_label(code)) for code in codes), key=lambda pair: pair[1])
