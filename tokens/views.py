from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import PortalRequest, manufacturer_required
from accounts.ratelimit import rate_limited
from refurb_portal.private_files import private_file_open, private_file_response
from tokens.errors import TokenFileError
from tokens.models import TokenDownload, TokenFile
from tokens.selectors import token_file_for_delivery
from tokens.services import token_file_download_record

logger = logging.getLogger(__name__)


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
        return _unavailable(request, token_file, TokenFileError(code))
    try:
        opened = private_file_open(token_file.storage_name)
    except FileNotFoundError:
        logger.error("Token file %s is READY but missing from storage", token_file.pk)
        return _unavailable(request, token_file, TokenFileError("missing"))
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
    request: HttpRequest, token_file: TokenFile, error: TokenFileError
) -> HttpResponse:
    response = render(
        request,
        "tokens/file_unavailable.html",
        {"token_file": token_file, "delivery": token_file.delivery, "message": error.message},
        status=error.status,
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
# manufacturer_required is typed for HttpResponse; a download may be a streaming response.
@manufacturer_required  # type: ignore[arg-type]
@rate_limited("tokens.download")  # per manufacturer (settings.RATE_LIMITS): 429 past it
def token_file_download_view(request: PortalRequest, delivery_id: int) -> HttpResponseBase:
    """Download: only the owning manufacturer's users (another's delivery is a 404)."""
    token_file = token_file_for_delivery(manufacturer=request.manufacturer, delivery_id=delivery_id)
    if token_file is None:
        raise Http404
    # R12: once downloaded, the pages' {% refurbishment_tool_notice %} says how to get the tool.
    return token_file_response(request, token_file, channel=TokenDownload.Channel.PORTAL)
