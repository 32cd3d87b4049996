"""RFC 9457 problem details: every refusal the API makes is one of these."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from django.http import HttpResponse

PROBLEM_TYPE = "application/problem+json"


def problem_response(
    *,
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
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
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, default=str),
        status=status,
        content_type=PROBLEM_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response
