"""The time zones a person may choose: IANA names as Python's ``zoneinfo`` knows them."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA name ``zoneinfo.available_timezones()`` offers, sorted (about 600), less the
    ``posix/``, ``right/`` and ``Etc/`` copies, plus ``UTC``."""
    names = {
        name
        for name in zoneinfo.available_timezones()
        if not name.startswith(("posix/", "right/", "Etc/")) and "/" in name
    }
    return tuple(sorted(names | {"UTC"}))


def is_time_zone(name: str) -> bool:
    return name in time_zone_names()


def validate_time_zone(name: str) -> None:
    """Raise ``ValidationError`` unless ``name`` is one of ``time_zone_names()``."""
    if not is_time_zone(name):
        raise ValidationError(_("Choose a time zone from the list."), code="time_zone")
