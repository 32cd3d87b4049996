from __future__ import annotations

import logging

from django.conf import settings
from django.core.files.storage import storages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from accounts.access import PortalRequest, manufacturer_required
from accounts.ratelimit import rate_limited
from orders.models import PurchaseOrder
from refurb_portal.private_files import private_file_open, private_file_response
from tokens.archive import zip_stream
from tokens.errors import TokenFileError
from tokens.generation import workbook_parts
from tokens.models import FileFormat, TokenDownload, TokenFile
from tokens.selectors import (
    order_ready_files,
    token_file_for_delivery,
    token_file_for_original_delivery,
    token_file_stored_files,
)
from tokens.services import order_token_files_download_record, token_file_download_record

logger = logging.getLogger(__name__)

CONTENT_TYPES = {
    FileFormat.CSV: "text/csv; charset=utf-8",
    FileFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def token_file_response(
    request: HttpRequest,
    token_file: TokenFile,
    *,
    channel: str,
    file_format: str = FileFormat.CSV,
    part: int = 1,
) -> HttpResponseBase:
    """Stream one READY file (the CSV, or part ``part`` of the .xlsx) as an attachment and
    record the download; otherwise explain why not. A part that does not exist is a 404.

    Shared by the portal and the admin. The file is opened before the download is recorded, so
    only a download that starts is counted, and it is streamed in chunks by ``FileResponse``.
    """
    if token_file.status != TokenFile.Status.READY:
        if not 1 <= part <= _parts_to_come(token_file, file_format):
            raise Http404  # a part this file will never have
        code = {TokenFile.Status.FAILED: "failed", TokenFile.Status.VOIDED: "voided"}.get(
            TokenFile.Status(token_file.status), "not_ready"
        )
        return _unavailable(request, TokenFileError(code), token_file=token_file)
    files = token_file_stored_files(token_file=token_file, file_format=file_format)
    if not files and file_format == FileFormat.XLSX:
        return _unavailable(request, TokenFileError("no_workbook"), token_file=token_file)
    stored = next((f for f in files if f.part == part), None)
    if stored is None:
        raise Http404
    try:
        opened = private_file_open(stored.storage_name)
    except FileNotFoundError:
        logger.error("Token file %s is READY but %s is missing", token_file.pk, stored.name)
        return _unavailable(request, TokenFileError("missing"), token_file=token_file)
    try:
        token_file_download_record(
            token_file=token_file,
            user=request.user,  # type: ignore[arg-type]
            request=request,
            channel=channel,
            file_format=file_format,
            file_names=[stored.name],
        )
    except TokenFileError as exc:
        # Voided between the status read above and the row lock of the record.
        if opened.stream is not None:
            opened.stream.close()
        return _unavailable(request, exc, token_file=token_file)
    # Streamed, or a redirect to a short-lived presigned URL (PRIVATE_STORAGE_DOWNLOAD).
    return private_file_response(
        opened,
        file_name=stored.name,
        content_type=CONTENT_TYPES[FileFormat(file_format)],
        kind="token_file",
    )


def _parts_to_come(token_file: TokenFile, file_format: str) -> int:
    if file_format == FileFormat.CSV:
        return 1
    return len(
        workbook_parts(token_file.total, rows_per_part=settings.TOKEN_FILE_XLSX_ROWS_PER_PART)
    )


def _unavailable(
    request: HttpRequest,
    error: TokenFileError,
    *,
    token_file: TokenFile | None = None,
    order: PurchaseOrder | None = None,
) -> HttpResponse:
    response = render(
        request,
        "tokens/file_unavailable.html",
        {
            "token_file": token_file,
            "order": token_file.order if token_file else order,
            "message": error.message,
        },
        status=error.status,
    )
    response["Cache-Control"] = "no-store"
    return response


def _portal_download(
    request: PortalRequest,
    delivery_id: int,
    *,
    file_format: str,
    part: int,
    token_file: TokenFile | None = None,
) -> HttpResponseBase:
    """A manufacturer's download of a new delivery's file (or of ``token_file`` when the
    caller found it: an original delivery's); None found is a 404."""
    if token_file is None and delivery_id:
        token_file = token_file_for_delivery(
            manufacturer=request.manufacturer, delivery_id=delivery_id
        )
    if token_file is None:
        raise Http404
    # R12: once downloaded, the pages' {% refurbishment_tool_notice %} says how to get the tool.
    return token_file_response(
        request,
        token_file,
        channel=TokenDownload.Channel.PORTAL,
        file_format=file_format,
        part=part,
    )


@require_GET
# manufacturer_required is typed for HttpResponse; a FileResponse is a streaming response.
@manufacturer_required  # type: ignore[arg-type]
@rate_limited("tokens.download")  # per manufacturer (settings.RATE_LIMITS): 429 past it
def token_file_download_view(request: PortalRequest, delivery_id: int) -> HttpResponseBase:
    """Download the CSV: only the owning manufacturer's users (another's delivery is a 404)."""
    return _portal_download(request, delivery_id, file_format=FileFormat.CSV, part=1)


@require_GET
@manufacturer_required  # type: ignore[arg-type]
@rate_limited("tokens.download")
def token_file_part_download_view(
    request: PortalRequest, delivery_id: int, file_format: str, part: int
) -> HttpResponseBase:
    """Download one file of a delivery in the chosen format (``csv``, or ``xlsx`` part
    ``part``); tenancy as for the CSV."""
    return _portal_download(request, delivery_id, file_format=file_format, part=part)


@require_GET
@manufacturer_required  # type: ignore[arg-type]
@rate_limited("tokens.download")
def original_token_file_download_view(
    request: PortalRequest, original_delivery_id: int, file_format: str, part: int
) -> HttpResponseBase:
    """Download an original delivery's License List (a device license order's; CSV, or .xlsx
    part ``part``). Another manufacturer's, or a module order's, is a 404."""
    token_file = token_file_for_original_delivery(
        manufacturer=request.manufacturer, original_delivery_id=original_delivery_id
    )
    return _portal_download(request, 0, file_format=file_format, part=part, token_file=token_file)


@require_GET
@manufacturer_required  # type: ignore[arg-type]
@rate_limited("tokens.download")
def order_files_zip_view(
    request: PortalRequest, number: str, file_format: str
) -> HttpResponse | StreamingHttpResponse:
    """One download for a whole order: a streamed ZIP of all its READY files in the chosen
    format plus ``SHA256SUMS``. Recorded and audited per token file, like single downloads.
    Another manufacturer's order is a 404."""
    order = get_object_or_404(PurchaseOrder, number=number, manufacturer=request.manufacturer)
    found = order_ready_files(order=order, file_format=file_format)
    if not found:
        return _unavailable(request, TokenFileError("none_ready"), order=order)
    storage = storages["private"]
    files = [stored for _, stored_files in found for stored in stored_files]
    if not all(storage.exists(stored.storage_name) for stored in files):
        logger.error("Order %s: a READY token file is missing from storage", order.pk)
        return _unavailable(request, TokenFileError("missing"), order=order)
    archive = f"{order.number}-token-files-{file_format}.zip"
    downloads = order_token_files_download_record(
        files=[(token_file, [f.name for f in stored]) for token_file, stored in found],
        user=request.user,
        request=request,
        file_format=file_format,
        archive=archive,
    )
    # A delivery voided since the files were listed is left out: a VOIDED file is never sent.
    recorded = {download.token_file_id for download in downloads}
    files = [
        stored
        for token_file, stored_files in found
        if token_file.pk in recorded
        for stored in stored_files
    ]
    if not files:
        return _unavailable(request, TokenFileError("none_ready"), order=order)
    response = StreamingHttpResponse(zip_stream(storage, files), content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, archive)
    response["Cache-Control"] = "no-store"
    return response
