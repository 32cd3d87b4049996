"""A list page's rows as a CSV or .xlsx download, streamed in constant memory.

The API, for any list (a view exports what its page shows, with the same selector and filters)::

    from refurb_portal.exports import Column, export_response

    COLUMNS = (
        Column(_("Order number"), lambda order: order.number),
        Column(_("Ordered"), lambda order: order.quantity_ordered),
        Column(_("Created"), lambda order: order.created_at),
    )

    def purchase_order_export_view(request, file_format):
        orders = purchase_order_list(manufacturer=request.manufacturer, **filters)
        return export_response(
            rows=orders.iterator(chunk_size=EXPORT_CHUNK_ROWS),
            columns=COLUMNS,
            file_format=file_format,          # "csv" or "xlsx" (EXPORT_FORMATS)
            filename="purchase-orders",       # the download's name, without the extension
        )

    urlpatterns += export_urls("orders/export", purchase_order_export_view, name="purchase_order")
    # orders/export.csv (name "purchase_order_csv") and orders/export.xlsx ("purchase_order_xlsx")

- ``rows``: any iterable of objects; pass a queryset's ``.iterator(chunk_size=...)`` (a
  ``prefetch_related`` is honoured per chunk) so that no more than a chunk is ever in memory.
- ``columns``: a ``Column`` per column, its header (translated when the file is written, in the
  request's language) and a function of the row giving the cell: ``str``, ``int``, ``float``,
  ``Decimal``, ``bool``, ``datetime``/``date`` or ``None`` (an empty cell).
- **CSV** (``StreamingHttpResponse``): UTF-8 with a byte order mark (so Excel reads Chinese),
  a header row, one line per row, written through ``defusedcsv`` so that a cell starting with
  ``=``, ``+``, ``-``, ``@`` (and tab or carriage return) cannot run as a formula in a
  spreadsheet; the lines are produced as the rows are read, never all at once.
- **.xlsx** (``FileResponse`` over a temporary file): xlsxwriter in ``constant_memory`` mode
  (each row flushed to disk as the next begins, as the token files are made: docs/token-files.md),
  strings written as strings (never formulas or links), numbers as numbers; the file is deleted
  when the response is closed. A sheet holds at most ``XLSX_MAX_ROWS`` rows: past that,
  ``ExportTooLarge`` is raised before anything is sent (a view turns it into a message).
- Date-times are written in the active time zone (``timezone.localtime``) as
  ``YYYY-MM-DD HH:MM:SS+HH:MM`` text, unambiguous in both formats; dates as ``YYYY-MM-DD``.
- ``export_urls`` makes a list's two export URLs (``.csv`` and ``.xlsx``); a page links to them
  with the list's query string (``partials/export_links.html``), so the file holds what the
  page's filters and sort select, every page of it.

Memory for 100,000 rows is measured in ``bench/exports.py`` against 1,000 rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import xlsxwriter
from defusedcsv import csv as defusedcsv
from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path
from django.utils import timezone, translation
from django.utils.functional import Promise

type Cell = str | int | float | Decimal | bool | dt.datetime | dt.date | None

EXPORT_FORMATS = ("csv", "xlsx")
# Rows fetched from PostgreSQL at a time (a server-side cursor's batch).
EXPORT_CHUNK_ROWS = 2_000
# The .xlsx format's own limit of rows on a sheet, the header included.
XLSX_MAX_ROWS = 1_048_576
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExportTooLarge(Exception):
    """More rows than an .xlsx sheet holds (``XLSX_MAX_ROWS``); CSV has no such limit."""


@dataclass(frozen=True)
class Column[T]:
    """One column of an export: its header and its cell for a row."""

    header: str | Promise
    value: Callable[[T], Cell]


def export_urls(
    route: str, view: Callable[..., HttpResponseBase], *, name: str
) -> list[URLPattern]:
    """The URL patterns of a list's exports: ``route + ".csv"`` and ``route + ".xlsx"``, named
    ``name + "_csv"`` and ``name + "_xlsx"``; the view is called with ``file_format``. A URL
    per format (not a format argument) keeps an export of a whole list free of arguments, as
    its list is (tests/security/test_urls.py)."""
    return [
        path(
            f"{route}.{file_format}",
            view,
            {"file_format": file_format},
            name=f"{name}_{file_format}",
        )
        for file_format in EXPORT_FORMATS
    ]


def choice_label(choices: Iterable[tuple[str, str | Promise]]) -> Callable[[str], str]:
    """A cell function for a field with choices: the value's label in the active language.
    The labels are translated once per language, not once per row (a lazy label's gettext
    costs more than the rest of a row)."""
    table = list(choices)
    translated: dict[str, dict[str, str]] = {}

    def label(value: str) -> str:
        language = translation.get_language() or ""
        labels = translated.get(language)
        if labels is None:
            labels = translated[language] = {key: str(text) for key, text in table}
        return labels.get(value, value)

    return label


def _text(value: Cell) -> str:
    """A cell as CSV text: times with their offset, numbers plain, None empty."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _datetime_text(value: dt.datetime) -> str:
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.isoformat(sep=" ", timespec="seconds")


_END = object()  # the end of the rows (a row may be None)


class _Echo:
    """A file-like object whose ``write`` hands the line back, for a streaming csv writer."""

    def write(self, value: str) -> str:
        return value


def csv_lines[T](rows: Iterable[T], columns: Sequence[Column[T]]) -> Iterator[bytes]:
    """The CSV file as it is made: the byte order mark and header, then one line per row.

    The lines after the first are made while the response streams, after the request's
    middleware has put the default time zone back (``accounts.time_zones``): each row is made
    in the time zone and language that were active when the file began, as the page shows."""
    zone, language = timezone.get_current_timezone(), translation.get_language()
    writer = defusedcsv.writer(_Echo())
    yield ("\ufeff" + writer.writerow([str(column.header) for column in columns])).encode()
    values = [column.value for column in columns]
    each = iter(rows)
    while True:
        with timezone.override(zone), translation.override(language):
            row = next(each, _END)
            if row is _END:
                return
            line = writer.writerow([_text(value(row)) for value in values])  # type: ignore[arg-type]
        yield line.encode()


def xlsx_workbook_options() -> dict[str, object]:
    """xlsxwriter's options for a file written in constant memory whose strings stay strings
    (never turned into numbers, formulas or links): the exports' and the token files'."""
    return {
        "constant_memory": True,
        "tmpdir": tempfile.gettempdir(),
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
    }


def write_xlsx[T](rows: Iterable[T], columns: Sequence[Column[T]], out: Any) -> int:
    """Write the rows as an .xlsx workbook of one sheet into ``out`` (a binary file or a path);
    return the number of rows written (the header not counted).

    Raises ``ExportTooLarge`` past ``XLSX_MAX_ROWS`` (``out`` then holds no valid workbook)."""
    workbook = xlsxwriter.Workbook(out, xlsx_workbook_options())
    sheet = workbook.add_worksheet()
    bold = workbook.add_format({"bold": True})
    for index, column in enumerate(columns):
        sheet.write_string(0, index, str(column.header), bold)
        sheet.set_column(index, index, max(12, len(str(column.header)) + 2))
    values = [column.value for column in columns]
    row_number = 0
    try:
        for row in rows:
            row_number += 1
            if row_number >= XLSX_MAX_ROWS:
                raise ExportTooLarge(row_number)
            for index, value in enumerate(values):
                _write_cell(sheet, row_number, index, value(row))
    finally:
        workbook.close()
    return row_number


def _write_cell(sheet: Any, row: int, column: int, value: Cell) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, column, value)
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, column, value)
    else:
        sheet.write_string(row, column, _text(value))


def started(chunks: Iterator[bytes], *, first: int) -> Iterator[bytes]:
    """``chunks`` with its ``first`` chunks made now, before a response starts: an error
    reading the rows (a query the database refuses, a cell function that raises) is then
    raised by the view, and the user gets an error page, not a file of headers only that
    looks like an empty list. The first chunk of a queryset's ``.iterator(chunk_size=...)``
    runs its query, so its errors surface here. An error past these (the connection lost
    midway) still ends the stream: the download is then cut short, without its last line."""
    made = list(itertools.islice(chunks, first))
    return itertools.chain(made, chunks)


def export_response[T](
    *, rows: Iterable[T], columns: Sequence[Column[T]], file_format: str, filename: str
) -> HttpResponseBase:
    """The download of ``rows`` in ``file_format`` (``"csv"`` or ``"xlsx"``), named
    ``filename`` plus the extension. Raises ``ValueError`` for another format and
    ``ExportTooLarge`` (xlsx only) past ``XLSX_MAX_ROWS``. The response is never cached."""
    if file_format == "csv":
        response: HttpResponseBase = StreamingHttpResponse(
            started(csv_lines(rows, columns), first=2), content_type=CSV_CONTENT_TYPE
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    elif file_format == "xlsx":
        # The workbook must be complete before its first byte is sent (a zip's directory is at
        # its end), so it is written to disk first and sent from there.
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
        try:
            write_xlsx(rows, columns, spool)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        response = FileResponse(
            spool, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE
        )
    else:
        raise ValueError(f"unknown export format {file_format!r}")
    response["Cache-Control"] = "private, no-store"
    return response
