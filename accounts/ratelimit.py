"""Abuse limits: how many deliveries a manufacturer may take, and files it may download, a minute.

Fixed windows counted in the shared cache (Redis in production): one counter per manufacturer,
action and window, created with ``cache.add`` (SET NX) and raised with ``cache.incr`` (INCRBY),
both atomic in Redis, so simultaneous requests from several web workers are counted exactly.
The limits are ``settings.RATE_LIMITS``: ``{action: (how many, window in seconds)}``.

The first refusal in a window is audited; the ones after it are not, so a client that keeps
hammering cannot flood the audit trail.

Use in a view, before calling the service::

    try:
        rate_limit_consume(action="delivery.take", manufacturer=request.manufacturer,
                           user=request.user, request=request)
    except AccountError as exc:
        ...  # show exc.message (for example as a form error), change nothing

or decorate a view with ``@rate_limited("tokens.download")`` to answer 429 with the message.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from accounts.errors import AccountError
from accounts.models import Manufacturer, User
from audit.services import audit_record


def _window(action: str, now: float) -> tuple[int, int, float]:
    limit, seconds = settings.RATE_LIMITS[action]
    start = math.floor(now / seconds) * seconds
    return limit, seconds, start


def _key(action: str, manufacturer_id: int, window_start: float) -> str:
    return f"ratelimit:{action}:{manufacturer_id}:{int(window_start)}"


def rate_limit_consume(
    *,
    action: str,
    manufacturer: Manufacturer,
    user: User | None = None,
    request: HttpRequest | None = None,
    now: float | None = None,
) -> int:
    """Count one ``action`` for ``manufacturer``; return how many remain in this window.

    Raises ``AccountError("rate_limited_<action>")`` when the limit is already used up.
    """
    now = time.time() if now is None else now
    limit, seconds, start = _window(action, now)
    key = _key(action, manufacturer.pk, start)
    # A little longer than the window, so that a counter never expires while still in use.
    cache.add(key, 0, timeout=seconds + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr: start the window again
        cache.add(key, 0, timeout=seconds + 5)
        count = cache.incr(key)
    if count <= limit:
        return limit - count
    wait = max(1, math.ceil(start + seconds - now))
    if count == limit + 1:
        audit_record(
            action="ratelimit.exceeded",
            actor=user,
            manufacturer=manufacturer,
            request=request,
            details={"limited": action, "limit": limit, "window_seconds": seconds},
        )
    raise AccountError(f"rate_limited_{action}", limit=limit, seconds=wait)


def rate_limit_reset(*, action: str, manufacturer: Manufacturer, now: float | None = None) -> None:
    """Forget this window's count (support lifting a limit early; tests starting clean)."""
    now = time.time() if now is None else now
    cache.delete(_key(action, manufacturer.pk, _window(action, now)[2]))


def rate_limited(
    action: str, *, methods: Collection[str] = ("GET", "POST")
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """A view decorator (inside ``manufacturer_required``): over the limit, answer 429 with the
    message and a Retry-After header, and do not run the view."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            manufacturer = getattr(request, "manufacturer", None)
            if manufacturer is not None and request.method in methods:
                try:
                    rate_limit_consume(
                        action=action,
                        manufacturer=manufacturer,
                        user=request.user,  # type: ignore[arg-type]
                        request=request,
                    )
                except AccountError as exc:
                    response = render(
                        request, "accounts/rate_limited.html", {"message": exc.message}, status=429
                    )
                    response["Retry-After"] = str(exc.params["seconds"])
                    return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
