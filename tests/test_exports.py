"""refurb_portal.exports: what a CSV and an .xlsx export hold, cell by cell."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone

from refurb_portal.exports import (
    XLSX_CONTENT_TYPE,
    Column,
    csv_lines,
    export_response,
)

COLUMNS: tuple[Column[dict[str, Any]], ...] = (
    Column("Name", lambda row: row["name"]),
    Column("Count", lambda row: row["count"]),
    Column("At", lambda row: row["at"]),
)
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
AT = dt.datetime(2026, 11, 29, 13, 49, 5, tzinfo=dt.UTC)
ROWS: list[dict[str, Any]] = [
    {"name": '=HYPERLINK("http://x")', "count": 3, "at": AT},
    {"name": "模块 WB3S", "count": Decimal("2.5"), "at": None},
    {"name": "@SUM(A1)", "count": None, "at": dt.date(2026, 1, 2)},
]


def _csv_rows(response: StreamingHttpResponse) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[arg-type]
    return list(csv.reader(io.StringIO(body)))


def test_csv_is_streamed_with_header_times_in_the_active_zone_and_no_formula() -> None:
    with timezone.override(SHANGHAI):
        response = export_response(rows=ROWS, columns=COLUMNS, file_format="csv", filename="x")
        assert isinstance(response, StreamingHttpResponse)
        rows = _csv_rows(response)
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert rows[0] == ["Name", "Count", "At"]
    # defusedcsv escapes a cell that a spreadsheet would run as a formula.
    assert rows[1] == ['\'=HYPERLINK("http://x")', "3", "2026-11-29 21:49:05+08:00"]
    assert rows[2] == ["模块 WB3S", "2.5", ""]
    assert rows[3] == ["'@SUM(A1)", "", "2026-01-02"]


def test_csv_lines_are_made_as_the_rows_are_read() -> None:
    read: list[int] = []

    def rows() -> Iterator[dict[str, Any]]:
        for n in range(3):
            read.append(n)
            yield {"name": str(n), "count": n, "at": None}

    lines = csv_lines(rows(), COLUMNS)
    next(lines)  # the header: no row read yet
    assert read == []
    next(lines)
    assert read == [0]


def test_xlsx_holds_strings_as_strings_and_numbers_as_numbers() -> None:
    with timezone.override(SHANGHAI):
        response = export_response(rows=ROWS, columns=COLUMNS, file_format="xlsx", filename="x")
    assert isinstance(response, FileResponse)
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert 'filename="x.xlsx"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content)  # type: ignore[arg-type]
    response.file_to_stream.close()  # type: ignore[attr-defined]  # (close() signals request_finished)
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values == [
        ["Name", "Count", "At"],
        ['=HYPERLINK("http://x")', 3, "2026-11-29 21:49:05+08:00"],
        ["模块 WB3S", 2.5, None],
        ["@SUM(A1)", None, "2026-01-02"],
    ]
    # Written as text, never as a formula cell.
    assert sheet["A2"].data_type == "s"


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="pdf"):
        export_response(rows=[], columns=COLUMNS, file_format="pdf", filename="x")


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_rows_that_cannot_be_read_raise_before_the_response_starts(file_format: str) -> None:
    """A row source failing at its first read (a query the database refuses) is raised by
    ``export_response`` itself, so the view answers an error, never a file with the header only
    (a CSV response streamed its header, then stopped: a 200 that looked like an empty list)."""

    def rows() -> Iterator[dict[str, Any]]:
        raise RuntimeError("no such function: STRING_AGG")
        yield {}  # a generator, as a queryset's iterator is

    with pytest.raises(RuntimeError, match="STRING_AGG"):
        export_response(rows=rows(), columns=COLUMNS, file_format=file_format, filename="x")


def test_csv_rows_made_after_the_request_keep_its_zone() -> None:
    """A streamed CSV's later lines are made after the middleware put the default zone back."""
    rows = [{"name": str(n), "count": n, "at": AT} for n in range(4)]
    with timezone.override(SHANGHAI):
        response = export_response(rows=rows, columns=COLUMNS, file_format="csv", filename="x")
    assert isinstance(response, StreamingHttpResponse)
    assert timezone.get_current_timezone_name() == "UTC"
    assert {row[2] for row in _csv_rows(response)[1:]} == {"2026-11-29 21:49:05+08:00"}


def test_a_csv_export_holds_every_row_after_its_first_made_early() -> None:
    response = export_response(rows=iter(ROWS), columns=COLUMNS, file_format="csv", filename="x")
    assert isinstance(response, StreamingHttpResponse)
    assert [row[1] for row in _csv_rows(response)] == ["Count", "3", "2.5", ""]
