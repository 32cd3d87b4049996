"""Prometheus metrics (prometheus-client), served by ``refurb_portal.operations.metrics_view``.

Two sources:

- **Counted as it happens**, in the process where it happens: takes and refusals by reason
  (``refurb_delivery_takes_total``, from the audit events ``delivery.taken`` and
  ``delivery.refused``), Celery task runs (``refurb_task_seconds`` by task and state, and
  ``refurb_task_failures_total``: the token-file job is ``tokens.token_file_generate``), and
  bytes handed out (``refurb_download_bytes_total`` by kind and mode). With several processes
  (gunicorn workers, Celery workers) set ``PROMETHEUS_MULTIPROC_DIR`` to a folder they share on
  the host, as prometheus-client's multiprocess mode asks; the view then sums all of them.
- **Read from the database and the broker at scrape time**, the same from any process: token
  files by status, the age of the oldest PENDING/GENERATING one, how many wait longer than each
  age bucket, and the Celery queue's depth.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from celery.signals import task_postrun, task_prerun
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

logger = logging.getLogger(__name__)

TAKES = Counter(
    "refurb_delivery_takes",
    "Take-delivery outcomes: taken, or refused with the refusal's reason.",
    ["outcome", "reason"],
)
TASK_SECONDS = Histogram(
    "refurb_task_seconds",
    "Duration of Celery task runs, by task and final state (SUCCESS, FAILURE, RETRY).",
    ["task", "state"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
TASK_FAILURES = Counter("refurb_task_failures", "Celery task runs that failed.", ["task"])
DOWNLOAD_BYTES = Counter(
    "refurb_download_bytes",
    "Bytes of private files handed out, by kind and mode (stream, redirect).",
    ["kind", "mode"],
)
# Age buckets (seconds) for the files still waiting.
WAITING_AGE_BUCKETS = (30, 60, 300, 900, 3600)


def audit_event(*, action: str, details: dict[str, object]) -> None:
    """Count the audit events the metrics follow (called by ``audit.services.audit_record``)."""
    if action == "delivery.taken":
        TAKES.labels(outcome="taken", reason="").inc()
    elif action == "delivery.refused":
        TAKES.labels(outcome="refused", reason=str(details.get("reason", ""))[:40]).inc()


_task_started: dict[str, float] = {}


@task_prerun.connect
def _task_started_at(task_id: str = "", **_: object) -> None:
    _task_started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(task_id: str = "", task: Any = None, state: str = "", **_: object) -> None:
    started = _task_started.pop(task_id, None)
    name = str(getattr(task, "name", "") or "unknown")
    if started is not None:
        TASK_SECONDS.labels(task=name, state=state or "UNKNOWN").observe(
            time.perf_counter() - started
        )
    if state == "FAILURE":
        TASK_FAILURES.labels(task=name).inc()


def download_bytes(*, kind: str, mode: str, size: int) -> None:
    DOWNLOAD_BYTES.labels(kind=kind, mode=mode).inc(size)


class StateCollector(Collector):
    """The gauges read at scrape time (see the module); a source that is down is left out."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db import DatabaseError

        try:
            yield from self._token_files()
        except DatabaseError:
            logger.warning("Metrics: the database is unreachable; token-file gauges left out")
        depth = queue_depth()
        if depth is not None:
            gauge = GaugeMetricFamily(
                "refurb_celery_queue_depth", "Messages waiting in the Celery queue."
            )
            gauge.add_metric([], depth)
            yield gauge

    def _token_files(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count, Min
        from django.utils import timezone

        from tokens.models import TokenFile

        now = timezone.now()
        by_status = GaugeMetricFamily(
            "refurb_token_files", "Token files by status.", labels=["status"]
        )
        counts = dict(
            TokenFile.objects.order_by()
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        for status in TokenFile.Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        waiting = [TokenFile.Status.PENDING, TokenFile.Status.GENERATING]
        oldest = GaugeMetricFamily(
            "refurb_token_files_oldest_waiting_seconds",
            "Age of the oldest PENDING or GENERATING token file, by status (0 when none).",
            labels=["status"],
        )
        older = GaugeMetricFamily(
            "refurb_token_files_waiting_older_than",
            "PENDING or GENERATING token files older than the given age in seconds.",
            labels=["status", "age"],
        )
        for status in waiting:
            rows = TokenFile.objects.filter(status=status)
            first = rows.aggregate(first=Min("created_at"))["first"]
            oldest.add_metric([status], (now - first).total_seconds() if first else 0.0)
            for age in WAITING_AGE_BUCKETS:
                count = rows.filter(created_at__lt=now - timedelta(seconds=age)).count()
                older.add_metric([status, str(age)], count)
        yield oldest
        yield older


def queue_depth() -> int | None:
    """Length of this deployment's Celery queue in Redis; None when the broker is unreachable
    or not Redis."""
    from django.conf import settings
    from redis import Redis
    from redis.exceptions import RedisError

    url = str(settings.CELERY_BROKER_URL)
    if not url.startswith(("redis://", "rediss://")):
        return None
    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return int(client.llen(settings.CELERY_TASK_DEFAULT_QUEUE))
    except RedisError:
        return None
    finally:
        client.close()


_STATE = StateCollector()


def exposition() -> bytes:
    """The text exposition of every metric of this deployment (see the module)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessMetrics())
    registry.register(_STATE)
    return generate_latest(registry)


class _ProcessMetrics(Collector):
    """This process's own metrics (the default registry), for a single-process deployment."""

    def collect(self) -> Iterator[object]:  # type: ignore[override]
        yield from REGISTRY.collect()
