from __future__ import annotations

import logging

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.access import PortalRequest, manufacturer_required
from accounts.ratelimit import rate_limited
from orders.models import PurchaseOrder
from refurb_portal.private_files import private_file_open, private_file_response
from tokens.errors import TokenFileError
from tokens.models import TokenDownload, TokenFile
from tokens.selectors import new_delivery_list
from tokens.services import token_file_download_record
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


def token_file_response(
    request: HttpRequest, token_file: TokenFile, *, channel: str
) -> HttpResponseBase:
    """Hand out a READY file as an attachment and record the download; otherwise explain why not.

    Shared by the portal and the admin. The file is opened before the download is recorded, so
    only a download that starts is counted; ``private_file_response`` streams it in chunks or
    redirects to a presigned URL. Other answers (409 not ready, 503 missing) are pages.
    """
    if token_file.status != TokenFile.Status.READY:
        code = "failed" if token_file.status == TokenFile.Status.FAILED else "not_ready"
        return _unavailable(request, token_file, TokenFileError(code), status=409)
    try:
        opened = private_file_open(token_file.storage_name)
    except FileNotFoundError:
        logger.error("Token file %s is READY but missing from storage", token_file.pk)
        return _unavailable(request, token_file, TokenFileError("missing"), status=503)
    token_file_download_record(
        token_file=token_file,
        user=request.user,  # type: ignore[arg-type]
        request=request,
        channel=channel,
    )
    # Streamed, or a redirect to a short-lived presigned URL (PRIVATE_STORAGE_DOWNLOAD).
    return private_file_response(
        opened,
        file_name=token_file.file_name,
        content_type="text/csv; charset=utf-8",
        kind="token_file",
    )


def _unavailable(
    request: HttpRequest, token_file: TokenFile, error: TokenFileError, *, status: int
) -> HttpResponse:
    response = render(
        request,
        "tokens/file_unavailable.html",
        {"token_file": token_file, "delivery": token_file.delivery, "message": error.message},
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
# manufacturer_required is typed for HttpResponse; a download may be a streaming response.
@manufacturer_required  # type: ignore[arg-type]
@rate_limited("tokens.download")  # per manufacturer (settings.RATE_LIMITS): 429 past it
def token_file_download_view(request: PortalRequest, delivery_id: int) -> HttpResponseBase:
    """Download: only the owning manufacturer's users (another's delivery is a 404)."""
    delivery = get_object_or_404(
        new_delivery_list(manufacturer=request.manufacturer), pk=delivery_id
    )
    token_file = getattr(delivery, "file", None)
    if token_file is None:
        raise Http404
    response = token_file_response(request, token_file, channel=TokenDownload.Channel.PORTAL)
    if response.status_code < 400:  # the file itself (streamed or redirected), not a page
        # R12: the first download tells the manufacturer how to get the refurbishment tool.
        tool_notice_after_first_download(request=request, user=request.user, order=delivery.order)
    return response
