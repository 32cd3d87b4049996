"""Date and time formats per language (``FORMAT_MODULE_PATH``): what Django does not set here
falls back to its own formats for the language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import formats, timezone, translation


def local_datetime(value: dt.datetime) -> str:
    """``value`` in the active time zone and language's short datetime format, with the zone's
    offset (``2026-11-29 21:49 UTC+0800``): for names of rows (``__str__``) the admin shows."""
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def list_join(items: Iterable[object]) -> str:
    """``items`` as one list in the active language's words: ``a, b, c`` in English,
    ``a、b、c`` in Chinese (the enumeration comma, ``、``, separates items of a list there)."""
    language = (translation.get_language() or "en").lower()
    separator = "、" if language.startswith("zh") else ", "
    return separator.join(str(item) for item in items)
