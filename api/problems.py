"""RFC 9457 problem details: every refusal the API makes is one of these."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views import defaults

from api.errors import ApiError
from refurb_portal.request_id import current_request_id

PROBLEM_TYPE = "application/problem+json"
# Where the API answers (refurb_portal/urls.py mounts version 1 there).
API_PREFIX = "/api/"


def problem_response(
    *,
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    request_id: str | None = None,
) -> HttpResponse:
    """A ``application/problem+json`` answer: ``type`` about:blank, ``title`` the status phrase,
    ``detail`` the translated message (the portal's words), ``code`` the domain error's code."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    if request_id:
        body["request_id"] = request_id
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, default=str),
        status=status,
        content_type=PROBLEM_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: an unhandled error under ``/api/`` answers problem details (500,
    ``server_error``) in the request's ``Accept-Language`` language, with the request id (also
    in ``X-Request-ID``) and nothing about the error itself; anything else, the portal's
    ``500.html``. Django has already logged the error (``django.request``, with its traceback
    and request id) before it calls this."""
    if not request.path_info.startswith(API_PREFIX):
        return defaults.server_error(request)
    request_id = current_request_id()
    # The error may come before LocaleMiddleware has chosen the request's language.
    with translation.override(translation.get_language_from_request(request)):
        error = ApiError("server_error", request_id=request_id or "-")
        response = problem_response(
            status=error.status, code=error.code, detail=error.message, request_id=request_id
        )
    response["Cache-Control"] = "no-store"
    return response
