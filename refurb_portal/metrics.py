"""Prometheus metrics (prometheus-client), served by ``refurb_portal.operations.metrics_view``.

Two sources:

- **Counted as it happens**, in the process where it happens: takes and refusals by reason
  (``refurb_delivery_takes_total``, from the audit events ``delivery.taken`` and
  ``delivery.refused``), Celery task runs (``refurb_task_seconds`` by task and state, and
  ``refurb_task_failures_total``: the token-file job is ``tokens.token_file_generate``), and
  bytes handed out (``refurb_download_bytes_total`` by kind and mode). With several processes
  (gunicorn workers, Celery workers) set ``PROMETHEUS_MULTIPROC_DIR`` to a folder they share on
  the host, as prometheus-client's multiprocess mode asks; the view then sums all of them.
- **Read at scrape time**, the same from any process: the Celery queue's depth, and the apps'
  collectors in ``settings.METRICS_COLLECTORS`` (``tokens.metrics``: token files by status, the
  age of the oldest PENDING/GENERATING one, how many wait longer than each age bucket).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from celery.signals import task_postrun, task_prerun
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

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
    """The gauges read at scrape time (see the module): the Celery queue's depth here, and the
    collectors the apps name in ``settings.METRICS_COLLECTORS`` (dotted paths, so that this
    module at the bottom of the stack imports no app). A source that is down is left out."""

    def collect(self) -> Iterator[Metric]:
        from django.conf import settings
        from django.utils.module_loading import import_string

        for path in getattr(settings, "METRICS_COLLECTORS", []):
            yield from import_string(path)().collect()
        depth = queue_depth()
        if depth is not None:
            gauge = GaugeMetricFamily(
                "refurb_celery_queue_depth", "Messages waiting in the Celery queue."
            )
            gauge.add_metric([], depth)
            yield gauge


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
