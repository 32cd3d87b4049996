"""The input of the token lookup and of the revocation list: lists of UUIDs and date ranges.

A list is read whole and refused whole: one bad line and nothing is looked up, with the line
numbers of the first problems, so a person can fix the list they pasted or uploaded.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

# The CHECK on Token.uuid (tokens.models): 20 lowercase letters and digits.
UUID_PATTERN = re.compile(r"^[a-z0-9]{20}$")
# Pasted lists arrive separated by new lines, spaces, tabs, commas or semicolons.
SEPARATORS = re.compile(r"[\s,;]+")
LIST_FILE_SUFFIXES = {".txt", ".csv"}
PROBLEMS_SHOWN = 10
# Days a revocation list may name: none is retired before the platform, and far-off dates would
# only overflow the calendar.
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2999, 12, 31)
SHOWN_VALUE_CHARS = 40


@dataclass(frozen=True)
class UuidList:
    """A list read without a problem: ``uuids`` distinct, lowercased, in the order first given;
    ``duplicates``: how many values repeated one given earlier."""

    uuids: list[str]
    duplicates: int


def _shown(value: str) -> str:
    return value if len(value) <= SHOWN_VALUE_CHARS else value[: SHOWN_VALUE_CHARS - 1] + "…"


def _text_values(text: str) -> Iterator[tuple[int, str]]:
    """(line number, value) of every value of a pasted list or a .txt file."""
    for number, line in enumerate(text.splitlines(), start=1):
        for value in SEPARATORS.split(line.strip()):
            if value:
                yield number, value


def _csv_values(text: str) -> Iterator[tuple[int, str]]:
    """(line number, value) of a .csv: its ``uuid`` column when its first row names one (a
    License List, say), else the first cell of each line."""
    reader = csv.reader(io.StringIO(text))
    column = 0
    for number, row in enumerate(reader, start=1):
        cells = [cell.strip() for cell in row]
        if number == 1:
            names = [cell.casefold() for cell in cells]
            if "uuid" in names:
                column = names.index("uuid")
                continue
        value = cells[column] if column < len(cells) else ""
        if value:
            yield number, value


def uuid_list_read(values: Iterator[tuple[int, str]], *, limit: int) -> UuidList:
    """Check every ``(line, value)``; returns the distinct UUIDs or raises ``ValidationError``
    (malformed values with their lines, more than ``limit`` values, or none at all). Values are
    compared lowercased: the same credential typed in capitals is the same UUID."""
    seen: dict[str, None] = {}
    bad: list[tuple[int, str]] = []
    count = 0
    for line, value in values:
        count += 1
        folded = value.lower()
        if UUID_PATTERN.match(folded):
            seen.setdefault(folded)
        else:
            bad.append((line, value))
    if not count:
        raise forms.ValidationError(
            _("Paste at least one UUID, or choose a file that lists them."), code="empty"
        )
    if count > limit:
        raise forms.ValidationError(
            _("At most %(limit)s UUIDs a lookup: this list has %(count)s. Split it."),
            code="too_many",
            params={"limit": f"{limit:,}", "count": f"{count:,}"},
        )
    if bad:
        errors = [
            forms.ValidationError(
                _(
                    "Line %(line)s: “%(value)s” is not a token UUID (20 lowercase letters and "
                    "digits)."
                ),
                code="malformed",
                params={"line": line, "value": _shown(value)},
            )
            for line, value in bad[:PROBLEMS_SHOWN]
        ]
        if len(bad) > PROBLEMS_SHOWN:
            rest = len(bad) - PROBLEMS_SHOWN
            errors.append(
                forms.ValidationError(
                    ngettext(
                        "…and %(count)s more line that is not a UUID.",
                        "…and %(count)s more lines that are not UUIDs.",
                        rest,
                    ),
                    code="malformed",
                    params={"count": rest},
                )
            )
        raise forms.ValidationError(errors)
    return UuidList(uuids=list(seen), duplicates=count - len(seen))


def _file_text(upload: UploadedFile) -> str:
    if PurePath(upload.name or "").suffix.lower() not in LIST_FILE_SUFFIXES:
        raise forms.ValidationError(
            _("Choose a .txt or .csv file (one UUID a line, or a “uuid” column)."),
            code="file_type",
        )
    limit = settings.TOKEN_LOOKUP_FILE_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise forms.ValidationError(
            _("The file is larger than %(limit)s."),
            code="file_size",
            params={"limit": filesizeformat(limit)},
        )
    try:
        return upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise forms.ValidationError(
            _("The file is not UTF-8 text: save it as CSV (UTF-8) or plain text and try again."),
            code="file_encoding",
        ) from None


class TokenLookupForm(forms.Form):
    """Up to ``TOKEN_LOOKUP_MAX_UUIDS`` UUIDs, pasted or in a .txt/.csv file (one of the two)."""

    uuids = forms.CharField(
        label=_("UUIDs"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off"}),
        help_text=_("One a line, or separated by spaces or commas; up to 1,000."),
    )
    file = forms.FileField(
        label=_("Or a file"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,.csv,text/plain,text/csv"}),
        help_text=_("A .txt with one UUID a line, or a .csv with a “uuid” column."),
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        text = cleaned.get("uuids") or ""
        upload = cleaned.get("file")
        if self.errors:
            return cleaned
        if text.strip() and upload:
            raise forms.ValidationError(_("Paste UUIDs or choose a file, not both."), code="both")
        limit = settings.TOKEN_LOOKUP_MAX_UUIDS
        field = "file" if isinstance(upload, UploadedFile) else "uuids"
        try:
            if isinstance(upload, UploadedFile):
                content = _file_text(upload)
                is_csv = PurePath(upload.name or "").suffix.lower() == ".csv"
                values = _csv_values(content) if is_csv else _text_values(content)
            else:
                values = _text_values(str(text))
            cleaned["list"] = uuid_list_read(values, limit=limit)
        except forms.ValidationError as exc:
            self.add_error(field, exc)
        return cleaned

    @property
    def uuid_list(self) -> UuidList:
        return self.cleaned_data["list"]


@dataclass(frozen=True)
class DayRange:
    """Days ``first``..``last`` (inclusive) in the current time zone, as the half-open
    ``[start, end)`` of aware datetimes a query filters on."""

    first: dt.date
    last: dt.date

    @property
    def start(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.first, dt.time.min))

    @property
    def end(self) -> dt.datetime:
        return timezone.make_aware(
            dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time.min)
        )


def day_range_check(first: dt.date, last: dt.date) -> DayRange:
    """The range, or ``ValidationError`` when it ends before it starts, spans more than
    ``REVOCATION_LIST_MAX_DAYS`` days, or leaves ``EARLIEST_DAY``..``LATEST_DAY``. Shared by the
    page and the API."""
    if not (first >= EARLIEST_DAY and last <= LATEST_DAY):
        raise forms.ValidationError(
            _("Choose days between %(earliest)s and %(latest)s."),
            code="out_of_range",
            params={"earliest": EARLIEST_DAY.isoformat(), "latest": LATEST_DAY.isoformat()},
        )
    if last < first:
        raise forms.ValidationError(_("The end date is before the start date."), code="reversed")
    most = settings.REVOCATION_LIST_MAX_DAYS
    if (last - first).days + 1 > most:
        raise forms.ValidationError(
            _("At most %(days)s days at a time: choose a shorter range."),
            code="too_long",
            params={"days": most},
        )
    return DayRange(first, last)


class RevocationListForm(forms.Form):
    """The days whose replaced and revoked UUIDs to list (both inclusive, server time)."""

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
                cleaned["range"] = day_range_check(first, last)
            except forms.ValidationError as exc:
                self.add_error("date_to", exc)
        return cleaned

    @property
    def day_range(self) -> DayRange:
        return self.cleaned_data["range"]
