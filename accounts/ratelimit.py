"""Abuse limits: how many take attempts and downloads a user, and a manufacturer, may make a minute.

Fixed windows counted in the shared cache (Redis in production): one counter per action, window
and subject (the user, and the user's manufacturer), raised with ``cache.add`` (SET NX) and
``cache.incr`` (INCRBY), both atomic in Redis, so simultaneous requests from several web workers
are counted exactly. The limits are ``settings.RATE_LIMITS``::

    {action: {"user": how many, "manufacturer": how many, "seconds": window length}}

An attempt is counted against the user first, then against the manufacturer; one refused is given
back to every counter it raised, so that one colleague's script cannot use up another's share, and
an attempt the caller decides does not count (a replayed form, input the rules refused) is given
back with ``RateLimitAttempt.refund``. The first refusal of a window is audited, not the ones after
it, so a client that keeps hammering cannot flood the audit trail.

The limits protect the service; they are not a rule of the product. When the cache cannot be
reached they fail open: the request goes on and a warning is logged (the cache is optional on the
request path, like the broker).

Use in a view, around the service::

    try:
        with rate_limit_attempt(action="delivery.take", manufacturer=request.manufacturer,
                                user=request.user, request=request) as attempt:
            result = new_delivery_take(...)   # an exception here gives the attempt back
            if not result.created:
                attempt.refund()              # a replay is not a new attempt
    except AccountError as exc:
        ...  # over a limit: show exc.message, nothing was taken

or decorate a view with ``@rate_limited("tokens.download")`` to answer 429 with the message.
Tests freeze time by replacing ``clock`` (``monkeypatch.setattr(ratelimit, "clock", ...)``) or
pass ``now``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from accounts.errors import AccountError
from accounts.models import Manufacturer, User
from audit.services import audit_record, client_ip

logger = logging.getLogger(__name__)

# Seconds since the epoch; replaced in tests to freeze the window (never compare wall clocks).
clock: Callable[[], float] = time.time

# What a cache that cannot be reached raises: redis-py's errors, and the socket's own.
CACHE_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError)


@dataclass
class RateLimitAttempt:
    """One counted attempt: the counters it raised, which ``refund`` lowers again (once)."""

    action: str
    keys: list[str] = field(default_factory=list)

    def refund(self) -> None:
        """Give the attempt back: it does not count (a replay, refused input). Idempotent."""
        keys, self.keys = self.keys, []
        for key in keys:
            try:
                cache.decr(key)
            except ValueError:
                pass  # the window ended and its counter expired: nothing left to give back
            except CACHE_ERRORS:
                logger.warning("Rate limit: cache unreachable, %s not given back", key)


def _limits(action: str) -> tuple[dict[str, int], int]:
    """How many per subject (``user``/``manufacturer``, or ``address``/``email``) and the window."""
    config = settings.RATE_LIMITS[action]
    limits = {subject: int(value) for subject, value in config.items() if subject != "seconds"}
    return limits, int(config["seconds"])


def _key(action: str, subject: str, subject_id: int | str, window_start: int) -> str:
    return f"ratelimit:{action}:{subject}:{subject_id}:{window_start}"


def _subjects(manufacturer: Manufacturer, user: User | None) -> list[tuple[str, int | str]]:
    found: list[tuple[str, int | str]] = [("manufacturer", manufacturer.pk)]
    if user is not None and user.pk is not None:
        found.insert(0, ("user", user.pk))
    return found


def _increment(key: str, timeout: int) -> int:
    """Raise ``key`` by one and return it; ``CACHE_ERRORS`` when the cache is unreachable."""
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr: start the window again
        cache.add(key, 0, timeout=timeout)
        return cache.incr(key)


def rate_limit_consume(
    *,
    action: str,
    manufacturer: Manufacturer,
    user: User | None = None,
    request: HttpRequest | None = None,
    now: float | None = None,
) -> RateLimitAttempt:
    """Count one ``action`` for ``user`` and for ``manufacturer`` in the current window.

    Returns the attempt (``refund()`` it when it turns out not to count). Raises
    ``AccountError("rate_limited_<action>_<user|manufacturer>", limit=, seconds=)`` when either
    limit is already used up; the refused attempt is not counted. When the cache is unreachable
    nothing is counted, a warning is logged and the attempt is allowed (fail open).
    """
    return _consume(
        action=action,
        subjects=_subjects(manufacturer, user),
        manufacturer=manufacturer,
        user=user,
        request=request,
        now=now,
    )


def rate_limit_address_consume(
    *, action: str, request: HttpRequest, email: str = "", now: float | None = None
) -> RateLimitAttempt:
    """Count one ``action`` by someone not logged in: per client address (``client_ip``) and,
    when given, per email address typed (case-insensitive, kept only as a SHA-256 prefix).

    For the pages before log in (forgot password): ``settings.RATE_LIMITS[action]`` has
    ``address`` and ``email`` limits. Raises ``AccountError("rate_limited_<action>_<address|
    email>", limit=, seconds=)`` over a limit, whether or not the email belongs to anyone, so
    the answer tells nothing about who has an account. Fails open like ``rate_limit_consume``.
    """
    subjects: list[tuple[str, int | str]] = [("address", client_ip(request) or "unknown")]
    if email:
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        subjects.append(("email", digest))
    return _consume(
        action=action, subjects=subjects, manufacturer=None, user=None, request=request, now=now
    )


def _consume(
    *,
    action: str,
    subjects: list[tuple[str, int | str]],
    manufacturer: Manufacturer | None,
    user: User | None,
    request: HttpRequest | None,
    now: float | None,
) -> RateLimitAttempt:
    now = clock() if now is None else now
    limits, seconds = _limits(action)
    window_start = math.floor(now / seconds) * seconds
    # A little longer than the window, so that a counter never expires while still in use.
    timeout = seconds + 5
    attempt = RateLimitAttempt(action=action)
    try:
        for subject, subject_id in subjects:
            key = _key(action, subject, subject_id, window_start)
            count = _increment(key, timeout)
            attempt.keys.append(key)
            if count > limits[subject]:
                attempt.refund()
                wait = max(1, math.ceil(window_start + seconds - now))
                _audit_first_refusal(
                    key=key,
                    timeout=timeout,
                    action=action,
                    subject=subject,
                    limit=limits[subject],
                    seconds=seconds,
                    manufacturer=manufacturer,
                    user=user,
                    request=request,
                )
                raise AccountError(
                    f"rate_limited_{action}_{subject}", limit=limits[subject], seconds=wait
                )
    except CACHE_ERRORS as exc:
        logger.warning("Rate limit %s not applied: the cache is unreachable (%s)", action, exc)
        return RateLimitAttempt(action=action)
    return attempt


def _audit_first_refusal(
    *,
    key: str,
    timeout: int,
    action: str,
    subject: str,
    limit: int,
    seconds: int,
    manufacturer: Manufacturer | None,
    user: User | None,
    request: HttpRequest | None,
) -> None:
    if not cache.add(f"{key}:audited", 1, timeout=timeout):
        return
    audit_record(
        action="ratelimit.exceeded",
        actor=user,
        manufacturer=manufacturer,
        request=request,
        details={"limited": action, "per": subject, "limit": limit, "window_seconds": seconds},
    )


@contextmanager
def rate_limit_attempt(
    *,
    action: str,
    manufacturer: Manufacturer,
    user: User | None = None,
    request: HttpRequest | None = None,
) -> Iterator[RateLimitAttempt]:
    """``rate_limit_consume`` around a block: an exception out of the block (a domain error for
    refused input, anything else) gives the attempt back before it propagates."""
    attempt = rate_limit_consume(
        action=action, manufacturer=manufacturer, user=user, request=request
    )
    try:
        yield attempt
    except BaseException:
        attempt.refund()
        raise


def rate_limit_reset(
    *, action: str, manufacturer: Manufacturer, user: User | None = None, now: float | None = None
) -> None:
    """Forget this window's counts for ``manufacturer`` (and ``user``): support lifting a limit
    early, tests starting clean."""
    now = clock() if now is None else now
    _, seconds = _limits(action)
    window_start = math.floor(now / seconds) * seconds
    for subject, subject_id in _subjects(manufacturer, user):
        key = _key(action, subject, subject_id, window_start)
        cache.delete_many([key, f"{key}:audited"])


def rate_limited(
    action: str, *, methods: Collection[str] = ("GET", "POST")
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """A view decorator (inside ``manufacturer_required``): over the limit, answer 429 with the
    message and a Retry-After header, and do not run the view. Every request counts."""

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
                    return rate_limited_response(request, exc)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def rate_limited_response(request: HttpRequest, exc: AccountError) -> HttpResponseBase:
    """The 429 page for a refusal of ``rate_limit_consume``, with its Retry-After header."""
    response = render(request, "accounts/rate_limited.html", {"message": exc.message}, status=429)
    response["Retry-After"] = str(exc.params["seconds"])
    return response
