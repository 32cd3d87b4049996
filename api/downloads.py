"""Serving a token file to the API: streamed, with its digest, resumable with HTTP Range."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator
from contextlib import closing
from typing import IO

from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase

from accounts.models import User
from api.errors import ApiError
from refurb_portal.private_files import private_file_open
from tokens.errors import TokenFileError
from tokens.models import TokenDownload, TokenFile
from tokens.retention import token_file_restore_request
from tokens.services import token_file_download_record

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
# One range only (RFC 9110 14.1.2): "bytes=first-last", "bytes=first-" or "bytes=-suffix".
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive ``(first, last)`` byte range asked for, or None for the whole file.

    A header this server does not understand (several ranges, other units) is ignored, as RFC
    9110 allows; a well-formed range outside the file raises ``ApiError`` (416).
    """
    match = RANGE.match(header.strip())
    if match is None or match.group(0) == "bytes=-":
        return None
    first_text, last_text = match.groups()
    if first_text:
        first = int(first_text)
        last = min(int(last_text), size - 1) if last_text else size - 1
        if last_text and int(last_text) < first:
            return None  # invalid: ignored
    else:
        suffix = int(last_text)
        if suffix == 0:
            raise ApiError("range_not_satisfiable", size=size)
        first, last = max(0, size - suffix), size - 1
    if first >= size:
        raise ApiError("range_not_satisfiable", size=size)
    return first, last


def _chunks(content: IO[bytes], length: int) -> Iterator[bytes]:
    """``length`` bytes of ``content`` from where it stands, then close it."""
    with closing(content):
        while length > 0:
            chunk = content.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def token_file_stream(
    *, request: HttpRequest, token_file: TokenFile, user: User
) -> HttpResponseBase:
    """A READY file's bytes, all of them or the range asked; only a download from the first byte
    is recorded (``tokens.services.token_file_download_record``, channel ``api``), so resuming
    does not count twice. Raises ``TokenFileError("missing")`` when storage lacks the file, and
    ``TokenFileError("archived")`` for a file archived by retention (its restore is asked for:
    the client tries again later, as for a file not ready yet)."""
    if token_file.purged_at is not None:
        token_file_restore_request(token_file=token_file)
        raise TokenFileError("archived")
    size = token_file.size_bytes or 0
    wanted = byte_range(request.headers.get("Range", ""), size) if size else None
    partial = wanted is not None and wanted != (0, size - 1)
    try:
        opened = private_file_open(
            token_file.storage_name, allow_redirect=False, byte_range=wanted if partial else None
        )
    except FileNotFoundError as exc:
        logger.error("Token file %s is READY but missing from storage", token_file.pk)
        raise TokenFileError("missing") from exc
    assert opened.stream is not None  # never redirected
    digest = "sha-256=:" + base64.b64encode(bytes.fromhex(token_file.sha256)).decode() + ":"
    if wanted is None or wanted[0] == 0:
        token_file_download_record(
            token_file=token_file, user=user, request=request, channel=TokenDownload.Channel.API
        )
    response: HttpResponseBase
    if wanted is None:
        response = FileResponse(
            opened.stream,
            as_attachment=True,
            filename=token_file.file_name,
            content_type="text/csv",
        )
        response["Content-Length"] = str(opened.size)
        response["Content-Digest"] = digest
    else:
        first, last = wanted
        response = StreamingHttpResponse(
            _chunks(opened.stream, last - first + 1), status=206, content_type="text/csv"
        )
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Length"] = str(last - first + 1)
        response["Content-Disposition"] = f'attachment; filename="{token_file.file_name}"'
    response["Repr-Digest"] = digest
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "no-store"
    return response
