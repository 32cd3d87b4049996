"""The input of the token lookup and of the revocation list: lists of token IDs and date ranges.

A list is read by ``tokens.uuid_lists`` (the reader a targeted delivery's list uses too) and
judged a line at a time: the well-formed token IDs are looked up, and the lines that are not
one are listed with their numbers beside the results, so one bad line no longer refuses the
rest. Only a list that cannot be read at all (too long, not a workbook, nothing in it, or no
token ID on any line) is refused whole.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from refurb_portal.forms import date_range_check
from tokens.uuid_lists import UuidListError, is_token_id, uuid_list_lines

LIST_FILE_SUFFIXES = {".txt", ".csv", ".xlsx"}
# Bad lines listed by number beside the results; the rest are counted.
PROBLEMS_SHOWN = 100
# Days a revocation list may name: none is retired before the platform, and far-off dates would
# only overflow the calendar.
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2999, 12, 31)
SHOWN_VALUE_CHARS = 40


@dataclass(frozen=True)
class UuidList:
    """A list read line by line: ``uuids`` the well-formed token IDs, distinct, lowercased, in
    the order first given; ``duplicates`` how many repeated one given earlier; ``malformed``
    the first ``PROBLEMS_SHOWN`` values that are not a token ID, as (line, value as shown), of
    ``malformed_count`` in all."""

    uuids: list[str]
    duplicates: int
    malformed: list[tuple[int, str]]
    malformed_count: int

    @property
    def malformed_more(self) -> int:
        """Bad lines beyond those listed."""
        return self.malformed_count - len(self.malformed)


def _shown(value: str) -> str:
    return value if len(value) <= SHOWN_VALUE_CHARS else value[: SHOWN_VALUE_CHARS - 1] + "…"


def uuid_list_read(values: Iterable[tuple[int, str]]) -> UuidList:
    """Judge every ``(line, value)`` (from ``tokens.uuid_lists.uuid_list_lines``): a value is a
    token ID when lowercased it matches ``TOKEN_ID_PATTERN`` (the same credential typed in
    capitals is the same one); the others are kept by line. Raises nothing itself."""
    seen: dict[str, None] = {}
    malformed: list[tuple[int, str]] = []
    count = bad = 0
    for line, value in values:
        folded = value.lower()
        if is_token_id(folded):
            count += 1
            seen.setdefault(folded)
        else:
            bad += 1
            if len(malformed) < PROBLEMS_SHOWN:
                malformed.append((line, _shown(value)))
    return UuidList(
        uuids=list(seen), duplicates=count - len(seen), malformed=malformed, malformed_count=bad
    )


def _file_check(upload: UploadedFile) -> None:
    if PurePath(upload.name or "").suffix.lower() not in LIST_FILE_SUFFIXES:
        raise forms.ValidationError(
            _("Choose a .txt, .csv or .xlsx file (one token ID a line, or a “uuid” column)."),
            code="file_type",
        )
    limit = settings.TOKEN_LOOKUP_FILE_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise forms.ValidationError(
            _("The file is larger than %(limit)s."),
            code="file_size",
            params={"limit": filesizeformat(limit)},
        )


def _read(stream: IO[bytes], name: str) -> UuidList:
    """The list judged, or ``ValidationError`` when it cannot be read or holds no token ID."""
    limit = settings.TOKEN_LOOKUP_MAX_UUIDS
    try:
        lines = uuid_list_lines(stream, name=name, limit=limit, several_a_line=True)
        read = uuid_list_read(lines)
    except UuidListError as exc:
        if exc.code == "too_long":
            raise forms.ValidationError(
                _("At most %(limit)s token IDs a lookup: split the list."),
                code="too_many",
                params={"limit": f"{limit:,}"},
            ) from None
        raise forms.ValidationError(
            _("This file could not be read as an Excel (.xlsx) workbook."), code="unreadable"
        ) from None
    if not read.uuids and not read.malformed_count:
        raise forms.ValidationError(
            _("Paste at least one token ID, or choose a file that lists them."), code="empty"
        )
    return read


class TokenLookupForm(forms.Form):
    """Up to ``TOKEN_LOOKUP_MAX_UUIDS`` token IDs, pasted or in a .txt/.csv/.xlsx file (one of
    the two). Valid when the list could be read; its lines that are not a token ID are in
    ``uuid_list.malformed`` for the page to list."""

    uuids = forms.CharField(
        label=_("Token IDs"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off"}),
        help_text=_(
            "The 20 lowercase letters and digits of the uuid column of a License List: one a "
            "line, or separated by spaces or commas; up to 1,000."
        ),
    )
    file = forms.FileField(
        label=_("Or a file"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,.csv,.xlsx,text/plain,text/csv"}),
        help_text=_("A .txt with one token ID a line, or a .csv or .xlsx with a “uuid” column."),
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        text = cleaned.get("uuids") or ""
        upload = cleaned.get("file")
        if self.errors:
            return cleaned
        if text.strip() and upload:
            raise forms.ValidationError(
                _("Paste token IDs or choose a file, not both."), code="both"
            )
        field = "file" if isinstance(upload, UploadedFile) else "uuids"
        try:
            if isinstance(upload, UploadedFile):
                _file_check(upload)
                cleaned["list"] = _read(upload.open("rb"), upload.name or "list.txt")
            else:
                cleaned["list"] = _read(io.BytesIO(str(text).encode()), "paste.txt")
        except forms.ValidationError as exc:
            self.add_error(field, exc)
        return cleaned

    @property
    def uuid_list(self) -> UuidList:
        return self.cleaned_data["list"]


@dataclass(frozen=True)
class DayRange:
    """Days ``first``..``last`` (inclusive) in ``zone``, as the half-open ``[start, end)`` of
    aware datetimes a query filters on. The portal's page gives the user's zone (the zone the
    rest of the portal shows times in); the API keeps UTC (docs/api.md)."""

    first: dt.date
    last: dt.date
    zone: dt.tzinfo = dt.UTC

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time.min, tzinfo=self.zone)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time.min, tzinfo=self.zone)


def day_range_check(first: dt.date, last: dt.date, *, zone: dt.tzinfo = dt.UTC) -> DayRange:
    """The range of days in ``zone`` (UTC unless told: the API's days, docs/api.md), or
    ``ValidationError`` when it ends before it starts, spans more than
    ``REVOCATION_LIST_MAX_DAYS`` days, or leaves ``EARLIEST_DAY``..``LATEST_DAY``. Shared by the
    page and the API."""
    if not (first >= EARLIEST_DAY and last <= LATEST_DAY):
        raise forms.ValidationError(
            _("Choose days between %(earliest)s and %(latest)s."),
            code="out_of_range",
            params={"earliest": EARLIEST_DAY.isoformat(), "latest": LATEST_DAY.isoformat()},
        )
    date_range_check(first, last)
    most = settings.REVOCATION_LIST_MAX_DAYS
    if (last - first).days + 1 > most:
        raise forms.ValidationError(
            _("At most %(days)s days at a time: choose a shorter range."),
            code="too_long",
            params={"days": most},
        )
    return DayRange(first, last, zone)


class RevocationListForm(forms.Form):
    """The days whose replaced and revoked UUIDs to list (both inclusive), in the active time
    zone (the user's: accounts.time_zones.TimeZoneMiddleware), as the page says."""

    date_from = forms.DateField(
        label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=_("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    file_format = forms.ChoiceField(
        label=_("Format"),
        choices=[("csv", _("CSV")), ("xlsx", _("Excel (.xlsx)"))],
        initial="csv",
        widget=forms.RadioSelect,
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if isinstance(first, dt.date) and isinstance(last, dt.date):
            try:
                cleaned["range"] = day_range_check(
                    first, last, zone=timezone.get_current_timezone()
                )
            except forms.ValidationError as exc:
                self.add_error("date_to", exc)
        return cleaned

    @property
    def day_range(self) -> DayRange:
        return self.cleaned_data["range"]
