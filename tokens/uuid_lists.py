"""Reading lists of token IDs: the 20-character ``uuid`` of a License List, one a line.

One reader for the token lookup (``tokens.lookup_forms``) and a targeted new delivery's list of
old UUIDs (``deliveries.old_uuids``). A list is pasted text, a .txt, a .csv or an .xlsx; the
``uuid`` column when the first row names one (in any case: a License List's own header), else
the whole line (.xlsx: column A). It is read streaming (text a line at a time, .xlsx through
openpyxl's ``read_only`` mode), and every value keeps the number of the line it came from, so
that each caller judges each line and reports the bad ones by their numbers instead of refusing
a whole list for one of them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import IO

# The CHECK on Token.uuid (tokens.models): 20 lowercase letters and digits.
TOKEN_ID_PATTERN = re.compile(r"^[a-z0-9]{20}$")
# Longer values are cut (they are malformed anyway) so a stray binary file stays small.
VALUE_MAX_CHARS = 64
# Within a line, what separates several values when the caller allows several.
SEPARATORS = re.compile(r"[\s,;]+")
# Characters that would break a tab-separated line (deliveries.old_uuids COPYs them).
_UNSAFE = re.compile(r"[\\\t\r\n]")


class UuidListError(Exception):
    """A list that cannot be read at all: ``code`` is ``"unreadable"`` (not a workbook) or
    ``"too_long"`` (more than ``limit`` values). Each caller says it in its own words."""

    def __init__(self, code: str, *, limit: int = 0) -> None:
        self.code = code
        self.limit = limit
        super().__init__(code)


def is_token_id(value: str) -> bool:
    """Whether ``value`` is written as a token ID (``TOKEN_ID_PATTERN``; compare it lowercased
    to accept one typed in capitals)."""
    return bool(TOKEN_ID_PATTERN.match(value))


def _clean(value: object) -> str:
    text = "" if value is None else str(value).strip()
    return _UNSAFE.sub("?", text[:VALUE_MAX_CHARS])


def _text_rows(stream: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of a .csv/.txt or pasted text; UTF-8, a BOM ignored, bytes that are
    not UTF-8 read as U+FFFD (so their line is malformed, not the whole list unreadable)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    yield from enumerate(csv.reader(text), start=1)


def _xlsx_rows(stream: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of the first sheet of an .xlsx."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise UuidListError("unreadable") from exc
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, ["" if cell is None else str(cell) for cell in row]
    finally:
        workbook.close()


def _line_values(rows: Iterator[tuple[int, list[str]]], *, xlsx: bool) -> Iterator[tuple[int, str]]:
    """(line number, raw value): the ``uuid`` column when the first row names one, else the
    whole line (text) or column A (.xlsx)."""
    column: int | None = None
    for number, row in rows:
        if number == 1:
            names = [cell.strip().lower() for cell in row]
            if "uuid" in names:
                column = names.index("uuid")
                continue
        if column is not None:
            yield number, row[column] if column < len(row) else ""
        elif xlsx:
            yield number, row[0] if row else ""
        else:
            yield number, ",".join(row)


def uuid_list_lines(
    stream: IO[bytes], *, name: str, limit: int, several_a_line: bool = False
) -> Iterator[tuple[int, str]]:
    """The values of a list as (line number in the source, value), streaming, blank lines
    skipped; ``name`` decides the format (``.xlsx``, else text for .csv, .txt and a paste).

    ``several_a_line``: a line may hold several values separated by spaces, tabs, commas or
    semicolons (the token lookup's paste); otherwise a line is one value (a targeted list: one
    module a line). Values are stripped and cut to ``VALUE_MAX_CHARS``, not judged: the caller
    checks each (``is_token_id``). Raises ``UuidListError("too_long", limit=limit)`` at value
    ``limit + 1`` and ``UuidListError("unreadable")`` for a workbook that cannot be opened.
    """
    xlsx = name.lower().endswith(".xlsx")
    rows = _xlsx_rows(stream) if xlsx else _text_rows(stream)
    count = 0
    for number, raw in _line_values(rows, xlsx=xlsx):
        parts = SEPARATORS.split(raw.strip()) if several_a_line else [raw]
        for part in parts:
            value = _clean(part)
            if not value:
                continue
            count += 1
            if count > limit:
                raise UuidListError("too_long", limit=limit)
            yield number, value
