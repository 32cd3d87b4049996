"""What every form of the portal checks the same way: a range of dates (the list filters' "from"
and "to", the revocation list's days)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

REVERSED_DATES = _("The end date is before the start date.")


def date_range_check(start: dt.date | None, end: dt.date | None) -> None:
    """Raise ``ValidationError`` (code ``"reversed"``, ``REVERSED_DATES``) when both dates are
    given and ``end`` is before ``start``; a missing end of the range is an open one."""
    if start is not None and end is not None and end < start:
        raise forms.ValidationError(REVERSED_DATES, code="reversed")


def date_range_clean(form: forms.Form, cleaned: dict[str, object], start: str, end: str) -> None:
    """In ``form.clean``: the range of the fields ``start`` and ``end`` checked with
    ``date_range_check``; a reversed range is an error of ``end``, whose value is then left out
    of ``cleaned`` (the list filters use only valid values)."""
    try:
        date_range_check(cleaned.get(start), cleaned.get(end))  # type: ignore[arg-type]
    except forms.ValidationError as error:
        form.add_error(end, error)
