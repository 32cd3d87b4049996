"""Mounting the API: its views answer without sessions, CSRF or the portal's log-in page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, re_path

from api.v1 import api, not_found_view


def _api_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Bearer keys, not the portal's session: no log-in redirect, no CSRF; every answer carries
    the key's RateLimit headers and is never cached (it may hold tokens)."""

    @login_not_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        state = getattr(request, "api_limit", None)
        if state is not None:
            for name, value in state.headers().items():
                response.setdefault(name, value)
        response.setdefault("Cache-Control", "no-store")
        return response

    wrapped.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapped


def api_v1_urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    """``api.urls`` with each view wrapped, and a problem-details 404 for any other path."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _api_view(pattern.callback)
    fallback = re_path(r"^(?P<rest>.*)$", _api_view(not_found_view), name="not_found")
    return [*patterns, fallback], app_name, namespace
