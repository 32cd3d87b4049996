"""Per-key request limits of the API, told to clients with the IETF RateLimit headers.

Fixed windows counted in the shared cache (Redis): ``cache.add`` then ``cache.incr``, both atomic,
so several web workers count one key exactly. The limit is ``settings.API_RATE_LIMIT``:
``(requests, window in seconds)``. If the cache cannot be reached the request is let through
(fail open): the API must not stop because its counter store did; the per-manufacturer abuse
limits of takes and downloads (``accounts.ratelimit``) still apply in the services' path.

Headers: draft-ietf-httpapi-ratelimit-headers (structured fields), for example
``RateLimit-Policy: "key";q=600;w=60`` and ``RateLimit: "key";r=599;t=42``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

POLICY = "key"


@dataclass(frozen=True)
class LimitState:
    limit: int
    window: int
    remaining: int
    reset: int  # seconds until the window ends
    allowed: bool

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Policy": f'"{POLICY}";q={self.limit};w={self.window}',
            "RateLimit": f'"{POLICY}";r={self.remaining};t={self.reset}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset)
        return headers


def _name(key_id: int, start: float) -> str:
    return f"api-limit:{key_id}:{int(start)}"


def api_limit_reset(*, key_id: int, now: float | None = None) -> None:
    """Forget this window's count of one key (support lifting a limit early; tests)."""
    now = time.time() if now is None else now
    _limit, window = settings.API_RATE_LIMIT
    cache.delete(_name(key_id, math.floor(now / window) * window))


def api_limit_consume(*, key_id: int, now: float | None = None) -> LimitState | None:
    """Count one request of API key ``key_id``; None when the cache is down (not counted)."""
    now = time.time() if now is None else now
    limit, window = settings.API_RATE_LIMIT
    start = math.floor(now / window) * window
    name = _name(key_id, start)
    try:
        cache.add(name, 0, timeout=window + 5)
        try:
            count = cache.incr(name)
        except ValueError:  # evicted between add and incr
            cache.add(name, 0, timeout=window + 5)
            count = cache.incr(name)
    except (RedisError, OSError):
        return None
    reset = max(1, math.ceil(start + window - now))
    return LimitState(
        limit=limit,
        window=window,
        remaining=max(0, limit - count),
        reset=reset,
        allowed=count <= limit,
    )
