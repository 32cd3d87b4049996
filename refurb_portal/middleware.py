"""The edges of every request, checked before anything else reads it.

``RequestEdgesMiddleware`` comes first in ``MIDDLEWARE``:

- **Size before the body is read**: a declared ``Content-Length`` over the view's limit is
  answered 413 at once (``REQUEST_BODY_MAX_BYTES`` for every view, ``UPLOAD_VIEWS`` for the
  few that take files). WSGI reads no more than the declared length, so that is all anyone can
  send. In an upload view, each file stops being stored once it passes its own limit
  (``CappedUploadHandler``): its form then refuses it by its size, without holding it.
- **NUL bytes and overlong values** in the path, the query, the headers and the form fields are
  answered 400: PostgreSQL cannot store NUL in text, and no field of ours is that long.

Sources: ASVS 5.0 V1 (encoding and sanitization), V2 (validation), V4 (HTTP message structure),
V5 (file handling).
"""

from __future__ import annotations

import io
import ipaddress
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

NUL = "\x00"


class CappedUploadHandler(FileUploadHandler):
    """Stops passing a file's bytes on once it is over ``limit``: the handlers after it (memory,
    temporary file) hold at most ``limit`` bytes of it, and the file the form receives is empty
    with its full ``size``, so that the form refuses it as too large."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.seen = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.seen = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.seen += len(raw_data)
        return raw_data if self.seen <= self.limit else None

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.seen <= self.limit:
            return None  # the next handler completes the file as usual
        return UploadedFile(
            file=io.BytesIO(),
            name=self.file_name,
            content_type=self.content_type,
            size=self.seen,
            charset=self.charset,
        )


def _bad(value: str, max_chars: int) -> bool:
    return NUL in value or len(value) > max_chars


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(settings.API_PATH_PREFIX)


def _api_problem(status: int, code: str, detail: str) -> HttpResponse:
    """The public API's clients read RFC 9457 problem details, not the portal's HTML pages
    (the API's own ``api.problems`` sits above this layer, so the shape is repeated here)."""
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    return HttpResponse(json.dumps(body), status=status, content_type="application/problem+json")


class RequestEdgesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self._checked(request)
        except BadRequest as refusal:
            if not _is_api(request):
                raise
            return _api_problem(400, "bad_request", str(refusal))

    def _checked(self, request: HttpRequest) -> HttpResponse:
        if _bad(request.path_info, settings.REQUEST_PATH_MAX_CHARS):
            raise BadRequest("NUL byte or overlong path")
        for name, value in request.META.items():
            if name.startswith("HTTP_") and _bad(str(value), settings.REQUEST_HEADER_MAX_CHARS):
                raise BadRequest(f"NUL byte or overlong value in header {name}")
        query = request.META.get("QUERY_STRING", "")
        if len(query) > settings.REQUEST_QUERY_MAX_CHARS or self._bad_values(request.GET):
            raise BadRequest("NUL byte or overlong value in the query")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise BadRequest("invalid Content-Length") from None
        # Only a large or multipart body can concern an upload view: the URL is resolved then.
        multipart = request.content_type == "multipart/form-data"
        upload = (
            self._upload_limit(request)
            if multipart or declared > settings.REQUEST_BODY_MAX_BYTES
            else None
        )
        limit = settings.REQUEST_BODY_MAX_BYTES + (upload[0] * upload[1] if upload else 0)
        if declared > limit:
            if _is_api(request):
                return _api_problem(413, "too_large", _("The request is too large."))
            return HttpResponse(
                _("The request is too large."), status=413, content_type="text/plain"
            )
        if upload and multipart:
            request.upload_handlers.insert(0, CappedUploadHandler(request, upload[0]))
        if request.method == "POST" and self._bad_values(request.POST):
            raise BadRequest("NUL byte or overlong form value")
        return self.get_response(request)

    @staticmethod
    def _bad_values(data: QueryDict) -> bool:
        max_chars = settings.REQUEST_VALUE_MAX_CHARS
        return any(
            _bad(key, max_chars) or _bad(value, max_chars)
            for key, values in data.lists()
            for value in values
        )

    @staticmethod
    def _upload_limit(request: HttpRequest) -> tuple[int, int] | None:
        """(bytes per file, files) for a view named in ``UPLOAD_VIEWS``, else None."""
        try:
            view_name = resolve(request.path_info).view_name
        except Resolver404:
            return None
        if view_name not in settings.UPLOAD_VIEWS:
            return None
        per_file, files = settings.UPLOAD_VIEWS[view_name]
        count = getattr(settings, files) if isinstance(files, str) else files
        return int(getattr(settings, per_file)), int(count)


FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)


class UntrustedForwardedHeadersMiddleware:
    """Removes the X-Forwarded-* (and Forwarded, X-Real-IP) headers unless the request comes
    straight from an address in ``TRUSTED_PROXY_ADDRESSES``. A client reaching gunicorn
    directly cannot then pass for HTTPS (``SECURE_PROXY_SSL_HEADER``), another host, or
    another address (``audit.services.client_ip``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._from_proxy(request.META.get("REMOTE_ADDR", "")):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)

    def _from_proxy(self, address: str) -> bool:
        try:
            peer = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(
            peer in ipaddress.ip_network(proxy, strict=False)
            for proxy in settings.TRUSTED_PROXY_ADDRESSES
        )
