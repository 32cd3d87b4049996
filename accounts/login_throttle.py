"""A throttle on failed log ins per client address, whatever the user names (password spraying).

django-axes locks a user name at one address (``AXES_LOCKOUT_PARAMETERS``); one address trying
ever new user names never met that lock. Here every failed log in from an address is counted in
the shared cache, in fixed windows of ``LOGIN_FAILURES_PER_ADDRESS[1]`` seconds; past
``LOGIN_FAILURES_PER_ADDRESS[0]`` the log-in form refuses that address before any password is
checked, so no more axes rows or audit events are written for it (the first refusal of a window
is audited once). When the cache is down the throttle lets people through (axes still counts).

Source: ASVS 5.0 V6.3 (general authentication security: brute force and credential stuffing).
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from redis.exceptions import RedisError

from accounts.errors import AccountError
from audit.services import audit_record, client_ip


def _window(now: float) -> tuple[int, int, int]:
    """(limit, window seconds, this window's number)."""
    limit, seconds = settings.LOGIN_FAILURES_PER_ADDRESS
    return limit, seconds, math.floor(now / seconds)


def login_failure_count(*, request: HttpRequest, now: float | None = None) -> None:
    """Count one failed log in from the request's address (a ``user_login_failed`` receiver
    calls it). Nothing is counted for a request without a known address."""
    address = client_ip(request)
    if address is None:
        return
    _, seconds, window = _window(time.time() if now is None else now)
    key = f"login-failures:{address}:{window}"
    try:
        cache.add(key, 0, timeout=seconds + 5)
        cache.incr(key)
    except (RedisError, ValueError):  # cache down or the key evicted meanwhile: fail open
        return


def login_address_check(*, request: HttpRequest, now: float | None = None) -> None:
    """Raise ``AccountError("address_throttled")`` when the request's address has used up its
    failed log ins in this window; audit the first refusal of the window."""
    address = client_ip(request)
    if address is None:
        return
    now = time.time() if now is None else now
    limit, seconds, window = _window(now)
    try:
        failures: Any = cache.get(f"login-failures:{address}:{window}", 0)
        first_refusal = failures >= limit and cache.add(
            f"login-throttled:{address}:{window}", 1, timeout=seconds + 5
        )
    except RedisError:
        return
    if failures < limit:
        return
    if first_refusal:
        audit_record(
            action="auth.address_throttled",
            request=request,
            details={"failures": int(failures), "window_seconds": seconds},
        )
    minutes = max(1, math.ceil(((window + 1) * seconds - now) / 60))
    raise AccountError("address_throttled", minutes=minutes)
