"""Endpoints for orchestrators and monitoring: ``/healthz``, ``/readyz`` and ``/metrics``.

- ``/healthz``: the process answers (liveness); touches nothing else.
- ``/readyz``: the database, the broker and private storage each answer a small request within
  ``READYZ_TIMEOUT_SECONDS``; JSON with each check's result and time in milliseconds, 200 when all
  are up, 503 (never a 500) naming what is down. It recovers by itself when they return.
- ``/metrics``: Prometheus text (``refurb_portal.metrics``), only with
  ``Authorization: Bearer <METRICS_TOKEN>``; anonymous or wrong tokens get 401, and with no
  ``METRICS_TOKEN`` configured it is closed to everyone (403).

None of them needs a session; they send no cookies. Probes must use a host in ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.files.storage import storages
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from refurb_portal import metrics
from refurb_portal.private_files import is_s3

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    ok: bool
    ms: float
    error: str = ""


def _timed(probe: Callable[[], None], *, errors: tuple[type[BaseException], ...]) -> Check:
    started = time.perf_counter()
    try:
        probe()
    except errors as exc:
        # The exception's class only: messages can carry hosts, users or keys.
        return Check(False, _ms(started), type(exc).__name__)
    return Check(True, _ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _timeout() -> int:
    return int(getattr(settings, "READYZ_TIMEOUT_SECONDS", 2))


def database_check() -> Check:
    """``SELECT 1`` on a new connection (not this thread's: a probe must not reuse a stale one)."""

    def probe() -> None:
        db = connections.create_connection(DEFAULT_DB_ALIAS)
        if db.vendor == "postgresql":
            db.settings_dict = {
                **db.settings_dict,
                "OPTIONS": {**db.settings_dict.get("OPTIONS", {}), "connect_timeout": _timeout()},
            }
        try:
            with db.cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            db.close()

    return _timed(probe, errors=(DatabaseError,))


def broker_check() -> Check:
    """``PING`` to the Redis broker (``CELERY_BROKER_URL``); ok without one (eager tasks)."""
    from redis import Redis
    from redis.exceptions import RedisError

    url = str(settings.CELERY_BROKER_URL)
    if not url.startswith(("redis://", "rediss://")):
        return Check(True, 0.0)

    def probe() -> None:
        client = Redis.from_url(url, socket_connect_timeout=_timeout(), socket_timeout=_timeout())
        try:
            client.ping()
        finally:
            client.close()

    return _timed(probe, errors=(RedisError, OSError))


def storage_check() -> Check:
    """S3: ``HEAD`` of the bucket with short timeouts and no retries; a folder: it exists."""
    storage = storages["private"]
    if not is_s3(storage):
        location = getattr(storage, "location", "")

        def probe_folder() -> None:
            from pathlib import Path

            if not Path(location).is_dir():
                raise FileNotFoundError(location)

        return _timed(probe_folder, errors=(OSError,))
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = cast(Any, storage)

    def probe() -> None:
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=s3.endpoint_url,
            region_name=s3.region_name,
            aws_access_key_id=s3.access_key,
            aws_secret_access_key=s3.secret_key,
            config=Config(
                connect_timeout=_timeout(),
                read_timeout=_timeout(),
                retries={"max_attempts": 1, "mode": "standard"},
                signature_version=s3.signature_version,
                s3={"addressing_style": s3.addressing_style},
            ),
        )
        client.head_bucket(Bucket=s3.bucket_name)

    return _timed(probe, errors=(BotoCoreError, ClientError))


READINESS_CHECKS: dict[str, Callable[[], Check]] = {
    "database": database_check,
    "broker": broker_check,
    "storage": storage_check,
}


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@login_not_required
@require_GET
@never_cache
def healthz_view(request: HttpRequest) -> HttpResponse:
    """Liveness: 200 ``{"status": "ok"}`` while the process can answer."""
    return JsonResponse({"status": "ok"})


@login_not_required
@require_GET
@never_cache
def readyz_view(request: HttpRequest) -> HttpResponse:
    """Readiness (see the module): ``{"status": "ok"|"unavailable", "checks": {name: {...}}}``."""
    results = {name: check() for name, check in READINESS_CHECKS.items()}
    down = sorted(name for name, result in results.items() if not result.ok)
    if down:
        logger.warning("Not ready: %s down", ", ".join(down))
    body = {
        "status": "unavailable" if down else "ok",
        "checks": {
            name: {"ok": r.ok, "ms": r.ms, **({"error": r.error} if r.error else {})}
            for name, r in results.items()
        },
    }
    return JsonResponse(body, status=503 if down else 200)


@login_not_required
@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition for a caller with ``Authorization: Bearer <METRICS_TOKEN>``."""
    expected = str(getattr(settings, "METRICS_TOKEN", "") or "")
    if not expected:
        return HttpResponse("Metrics are not enabled.\n", status=403, content_type="text/plain")
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(offered.encode(), expected.encode()):
        response = HttpResponse(
            "A metrics token is needed.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(
        metrics.exposition(), content_type="text/plain; version=0.0.4; charset=utf-8"
    )
