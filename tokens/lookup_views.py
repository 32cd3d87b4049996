"""Token lookup and the revocation list: the portal's pages, and what the admin's share.

A manufacturer's user sees their own company's tokens; staff use the same forms, selectors and
responses in the admin (``tokens.admin``) over every manufacturer's.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from typing import Any

import xlsxwriter
from defusedcsv import csv as defusedcsv
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods
from xlsxwriter.worksheet import Worksheet

from accounts.access import PortalRequest, manufacturer_required
from refurb_portal.exports import started, xlsx_workbook_options
from tokens.lookup_forms import RevocationListForm, TokenLookupForm
from tokens.lookup_services import revocation_list_record, token_lookup_record
from tokens.models import FileFormat
from tokens.selectors import REVOCATION_COLUMNS, TokenHistory, revocation_rows, token_lookup
from tokens.views import CONTENT_TYPES

XLSX_SHEET_ROWS = 1_048_575  # Excel's rows a sheet, less the header


def lookup_bind(request: HttpRequest) -> TokenLookupForm | None:
    """The lookup form of this request: POSTed (pasted or uploaded), or a GET ``?uuids=`` (the
    page's own links along a chain); None for the empty page."""
    if request.method == "POST":
        return TokenLookupForm(request.POST, request.FILES)
    if "uuids" in request.GET:
        return TokenLookupForm({"uuids": request.GET.get("uuids", "")})
    return None


def lookup_run(
    request: HttpRequest, form: TokenLookupForm | None, *, manufacturer_id: int | None, channel: str
) -> tuple[TokenLookupForm, list[TokenHistory] | None, int]:
    """Validate and look up the list's well-formed token IDs (audited); returns the form to
    show, the histories (None when the list was refused whole; empty when no line held a token
    ID, whose lines the page lists) and the HTTP status (400 when nothing could be looked up)."""
    if form is None:
        return TokenLookupForm(), None, 200
    if not form.is_valid():
        return form, None, 400
    uuids = form.uuid_list.uuids
    if not uuids:
        return form, [], 400
    histories = token_lookup(uuids=uuids, manufacturer_id=manufacturer_id)
    token_lookup_record(
        user=request.user,  # type: ignore[arg-type]
        request=request,
        uuids=uuids,
        found=sum(1 for h in histories if h.token is not None),
        channel=channel,
    )
    return form, histories, 200


def lookup_context(form: TokenLookupForm, histories: list[TokenHistory] | None) -> dict[str, Any]:
    found = sum(1 for h in histories if h.token is not None) if histories is not None else 0
    return {
        "form": form,
        "histories": histories,
        "found_count": found,
        "unknown_count": len(histories) - found if histories is not None else 0,
        "duplicates": form.uuid_list.duplicates if histories is not None else 0,
        "uuid_list": form.uuid_list if histories is not None else None,
    }


@require_http_methods(["GET", "POST"])
@manufacturer_required
def token_lookup_view(request: PortalRequest) -> HttpResponse:
    """Token lookup: paste or upload up to 1,000 token IDs and see each one's history, and which
    lines were not a token ID. Another manufacturer's token reads as unknown, like one never
    issued."""
    form, histories, status = lookup_run(
        request, lookup_bind(request), manufacturer_id=request.manufacturer.pk, channel="portal"
    )
    return render(request, "tokens/lookup.html", lookup_context(form, histories), status=status)


def _csv_lines(rows: Iterator[tuple[Any, ...]]) -> Iterator[bytes]:
    class Line:
        def write(self, text: str) -> str:
            return text

    writer = defusedcsv.writer(Line())
    yield writer.writerow(REVOCATION_COLUMNS).encode()
    for row in rows:
        yield writer.writerow(_cells(row)).encode()


def _cells(row: tuple[Any, ...]) -> list[str]:
    uuid, status, retired_at, order, product, replaced_by = row
    moment = retired_at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return [uuid, status, moment, order, product, replaced_by or ""]


def _xlsx_file(rows: Iterator[tuple[Any, ...]]) -> Any:
    """The rows as an .xlsx in a temporary file (xlsxwriter's constant-memory mode: flat memory
    whatever the length; a new sheet every ``XLSX_SHEET_ROWS`` rows), rewound to its start."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    workbook = xlsxwriter.Workbook(out, xlsx_workbook_options())

    def new_sheet() -> Worksheet:
        sheet = workbook.add_worksheet()
        for column, name in enumerate(REVOCATION_COLUMNS):
            sheet.write_string(0, column, name)
        return sheet

    sheet, written = new_sheet(), 0
    for row in rows:
        if written == XLSX_SHEET_ROWS:
            sheet, written = new_sheet(), 0
        written += 1
        for column, cell in enumerate(_cells(row)):
            sheet.write_string(written, column, cell)
    workbook.close()
    out.seek(0)
    return out


def revocation_list_response(
    request: HttpRequest, form: RevocationListForm, *, manufacturer_id: int | None, channel: str
) -> HttpResponseBase:
    """The valid form's list as an attachment, audited: the CSV streamed from a server-side
    cursor (constant memory; its header and first row made before the response starts, so a
    query that fails is an error page, not an empty list: ``refurb_portal.exports.started``),
    or the .xlsx written to a temporary file first."""
    days = form.day_range
    file_format = form.cleaned_data["file_format"]
    revocation_list_record(
        user=request.user,  # type: ignore[arg-type]
        request=request,
        first=days.first,
        last=days.last,
        file_format=file_format,
        channel=channel,
    )
    rows = revocation_rows(manufacturer_id=manufacturer_id, start=days.start, end=days.end)
    name = f"revoked-uuids-{days.first:%Y%m%d}-{days.last:%Y%m%d}.{file_format}"
    response: HttpResponseBase
    if file_format == FileFormat.XLSX:
        response = FileResponse(
            _xlsx_file(rows),
            as_attachment=True,
            filename=name,
            content_type=CONTENT_TYPES[FileFormat.XLSX],
        )
    else:
        response = StreamingHttpResponse(
            started(_csv_lines(rows), first=2), content_type=CONTENT_TYPES[FileFormat.CSV]
        )
        response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "no-store"
    return response


def revocation_bind(request: HttpRequest) -> RevocationListForm:
    """The form from the query string; unbound (today's date proposed) when there is none."""
    if "date_from" in request.GET or "date_to" in request.GET:
        return RevocationListForm(request.GET)
    today = timezone.localdate()
    return RevocationListForm(initial={"date_from": today, "date_to": today, "file_format": "csv"})


@require_http_methods(["GET"])
@manufacturer_required  # type: ignore[arg-type]
def revocation_list_view(request: PortalRequest) -> HttpResponseBase:
    """Revocation list: the form, or (with valid days) the download of the company's UUIDs
    replaced or revoked in those days, for the cloud side to refuse. Bad days: the form again,
    400, with the reason."""
    form = revocation_bind(request)
    if form.is_bound and form.is_valid():
        return revocation_list_response(
            request, form, manufacturer_id=request.manufacturer.pk, channel="portal"
        )
    status = 400 if form.is_bound else 200
    return render(request, "tokens/revocation_list.html", {"form": form}, status=status)
