from __future__ import annotations

import logging

from django.conf import settings
from django.core.files.storage import storages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.access import PortalRequest, manufacturer_required
from accounts.ratelimit import rate_limited
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from tokens.archive import zip_stream
from tokens.errors import TokenFileError
from tokens.models import FileFormat, TokenDownload, TokenFile
from tokens.selectors import new_delivery_list, order_ready_files, token_file_stored_files
from tokens.services import order_token_files_download_record, token_file_download_record
from workorders.services import tool_notice_after_first_download

logger = logging.getLogger(__name__)


def _delivery_list(request: PortalRequest, *, order: PurchaseOrder | None) -> HttpResponse:
    deliveries = new_delivery_list(manufacturer=request.manufacturer, order=order)
    page = Paginator(deliveries, settings.NEW_DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    files = [getattr(delivery, "file", None) for delivery in page.object_list]
    context = {
        "order": order,
        "page": page,
        # The results poll themselves while a file on the page is still being made; the answer
        # rendered once all are done carries no trigger, and the polling stops.
        "polling": any(f is not None and f.in_progress for f in files),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "tokens/delivery_list.html#results", context)
    return render(request, "tokens/delivery_list.html", context)


@require_GET
@vary_on_headers("HX-Request")
@manufacturer_required
def delivery_list_view(request: PortalRequest) -> HttpResponse:
    """New delivery list of Token across all the manufacturer's orders."""
    return _delivery_list(request, order=None)


@require_GET
@vary_on_headers("HX-Request")
@manufacturer_required
def order_delivery_list_view(request: PortalRequest, number: str) -> HttpResponse:
    """New delivery list of Token of one order."""
    order = get_object_or_404(PurchaseOrder, number=number, manufacturer=request.manufacturer)
    return _delivery_list(request, order=order)


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
) -> HttpResponse | FileResponse:
    """Stream one READY file (the CSV, or part ``part`` of the .xlsx) as an attachment and
    record the download; otherwise explain why not. A part that does not exist is a 404.

    Shared by the portal and the admin. The file is opened before the download is recorded, so
    only a download that starts is counted, and it is streamed in chunks by ``FileResponse``.
    """
    if token_file.status != TokenFile.Status.READY:
        code = "failed" if token_file.status == TokenFile.Status.FAILED else "not_ready"
        return _unavailable(request, TokenFileError(code), token_file=token_file, status=409)
    files = token_file_stored_files(token_file=token_file, file_format=file_format)
    if not files and file_format == FileFormat.XLSX:
        return _unavailable(
            request, TokenFileError("no_workbook"), token_file=token_file, status=409
        )
    stored = next((f for f in files if f.part == part), None)
    if stored is None:
        raise Http404
    try:
        content = storages["private"].open(stored.storage_name, "rb")
    except FileNotFoundError:
        logger.error("Token file %s is READY but %s is missing", token_file.pk, stored.name)
        return _unavailable(request, TokenFileError("missing"), token_file=token_file, status=503)
    token_file_download_record(
        token_file=token_file,
        user=request.user,  # type: ignore[arg-type]
        request=request,
        channel=channel,
        file_format=file_format,
        file_names=[stored.name],
    )
    response = FileResponse(
        content,
        as_attachment=True,
        filename=stored.name,
        content_type=CONTENT_TYPES[FileFormat(file_format)],
    )
    response["Cache-Control"] = "no-store"
    return response


def _unavailable(
    request: HttpRequest,
    error: TokenFileError,
    *,
    token_file: TokenFile | None = None,
    order: PurchaseOrder | None = None,
    status: int,
) -> HttpResponse:
    response = render(
        request,
        "tokens/file_unavailable.html",
        {
            "token_file": token_file,
            "order": token_file.delivery.order if token_file else order,
            "message": error.message,
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


def _owned_token_file(request: PortalRequest, delivery_id: int) -> tuple[NewDelivery, TokenFile]:
    delivery = get_object_or_404(
        new_delivery_list(manufacturer=request.manufacturer), pk=delivery_id
    )
    token_file = getattr(delivery, "file", None)
    if token_file is None:
        raise Http404
    return delivery, token_file


def _tell_about_the_tool(
    request: PortalRequest,
    response: HttpResponse | FileResponse | StreamingHttpResponse,
    order: PurchaseOrder,
) -> None:
    if isinstance(response, FileResponse | StreamingHttpResponse):
        # R12: the first download tells the manufacturer how to get the refurbishment tool.
        tool_notice_after_first_download(request=request, user=request.user, order=order)


def _portal_download(
    request: PortalRequest, delivery_id: int, *, file_format: str, part: int
) -> HttpResponse | FileResponse:
    delivery, token_file = _owned_token_file(request, delivery_id)
    response = token_file_response(
        request,
        token_file,
        channel=TokenDownload.Channel.PORTAL,
        file_format=file_format,
        part=part,
    )
    _tell_about_the_tool(request, response, delivery.order)
    return response


@require_GET
# manufacturer_required is typed for HttpResponse; a FileResponse is a streaming response.
@manufacturer_required  # type: ignore[arg-type]
@rate_limited("tokens.download")  # per manufacturer (settings.RATE_LIMITS): 429 past it
def token_file_download_view(
    request: PortalRequest, delivery_id: int
) -> HttpResponse | FileResponse:
    """Download the CSV: only the owning manufacturer's users (another's delivery is a 404)."""
    return _portal_download(request, delivery_id, file_format=FileFormat.CSV, part=1)


@require_GET
@manufacturer_required  # type: ignore[arg-type]
@rate_limited("tokens.download")
def token_file_part_download_view(
    request: PortalRequest, delivery_id: int, file_format: str, part: int
) -> HttpResponse | FileResponse:
    """Download one file of a delivery in the chosen format (``csv``, or ``xlsx`` part
    ``part``); tenancy as for the CSV."""
    return _portal_download(request, delivery_id, file_format=file_format, part=part)


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
        return _unavailable(request, TokenFileError("none_ready"), order=order, status=409)
    storage = storages["private"]
    files = [stored for _, stored_files in found for stored in stored_files]
    if not all(storage.exists(stored.storage_name) for stored in files):
        logger.error("Order %s: a READY token file is missing from storage", order.pk)
        return _unavailable(request, TokenFileError("missing"), order=order, status=503)
    archive = f"{order.number}-token-files-{file_format}.zip"
    order_token_files_download_record(
        files=[(token_file, [f.name for f in stored]) for token_file, stored in found],
        user=request.user,
        request=request,
        file_format=file_format,
        archive=archive,
    )
    response = StreamingHttpResponse(zip_stream(storage, files), content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, archive)
    response["Cache-Control"] = "no-store"
    _tell_about_the_tool(request, response, order)
    return response
