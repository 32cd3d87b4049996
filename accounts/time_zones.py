"""Whose clock a time is shown on: the user's zone, else their manufacturer's, else UTC.

``TimeZoneMiddleware`` activates that zone for each request (``django.utils.timezone.activate``),
so every ``|date`` in a template, every admin column and every form shows it; the formats of
``refurb_portal/formats`` name its offset after each time. Emails sent by a worker activate
the recipient's zone themselves (``timezone.override(effective_time_zone(user))``).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.models import Manufacturer, User
from accounts.time_zone_names import is_time_zone
from audit.services import audit_record

DEFAULT_TIME_ZONE = "UTC"
# Names browsers report for UTC that zoneinfo lists under another name.
BROWSER_ALIASES = {"Etc/UTC": "UTC", "Etc/GMT": "UTC", "GMT": "UTC", "Etc/Universal": "UTC"}


def effective_time_zone(user: User | None, manufacturer: Manufacturer | None = None) -> str:
    """The IANA name of the zone ``user``'s times are shown in: their own choice, else their
    manufacturer's default, else ``UTC`` (platform staff, anonymous visitors). ``manufacturer``
    stands in for a user when there is none (the manufacturer's shared address)."""
    if user is not None and user.is_authenticated and user.time_zone:
        return str(user.time_zone)
    company = manufacturer or getattr(user, "manufacturer", None)
    if company is not None and company.time_zone:
        return str(company.time_zone)
    return DEFAULT_TIME_ZONE


def user_time_zone_set(
    *, user: User, time_zone: str, detected: bool = False, request: HttpRequest | None = None
) -> bool:
    """Set ``user``'s zone to the IANA name ``time_zone``; returns whether it changed.

    ``detected`` is the browser's report on log in: it is kept only while the user has no zone
    (a choice made on the Settings page is never overwritten), and an unknown name is ignored.
    A name chosen by the user that is not one of ``time_zone_names()`` raises ``ValueError``
    (the Settings form validates first). Audited as ``accounts.time_zone_set``.
    """
    time_zone = BROWSER_ALIASES.get(time_zone, time_zone) if detected else time_zone
    if not is_time_zone(time_zone):
        if detected:
            return False
        raise ValueError(f"unknown time zone {time_zone!r}")
    with transaction.atomic():
        users = User.objects.select_for_update().filter(pk=user.pk)
        if detected:
            users = users.filter(time_zone="")
        locked = users.first()
        if locked is None or locked.time_zone == time_zone:
            return False
        before = locked.time_zone
        locked.time_zone = time_zone
        locked.save(update_fields=["time_zone"])
        audit_record(
            action="accounts.time_zone_set",
            actor=user,
            obj=locked,
            request=request,
            details={"from": before, "to": time_zone, "detected": detected},
        )
    user.time_zone = time_zone
    return True


class TimeZoneMiddleware:
    """Activates ``effective_time_zone(request.user)`` for the request, UTC otherwise."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            timezone.activate(zoneinfo.ZoneInfo(effective_time_zone(user)))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
