"""Token-file gauges for ``/metrics``, read from the database at scrape time.

Listed in ``settings.METRICS_COLLECTORS``; ``refurb_portal.metrics`` collects them. Files by
status, the age of the oldest PENDING and GENERATING file, and how many of those are older than
each of ``WAITING_AGE_BUCKETS`` seconds (a stuck worker or a full queue shows here first).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

from django.db import DatabaseError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tokens.models import TokenFile

logger = logging.getLogger(__name__)

WAITING_AGE_BUCKETS = (30, 60, 300, 900, 3600)


class TokenFileCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        try:
            yield from self._gauges()
        except DatabaseError:
            logger.warning("Metrics: the database is unreachable; token-file gauges left out")

    def _gauges(self) -> list[Metric]:
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
        for status in (TokenFile.Status.PENDING, TokenFile.Status.GENERATING):
            rows = TokenFile.objects.filter(status=status)
            first = rows.aggregate(first=Min("created_at"))["first"]
            oldest.add_metric([status], (now - first).total_seconds() if first else 0.0)
            for age in WAITING_AGE_BUCKETS:
                count = rows.filter(created_at__lt=now - timedelta(seconds=age)).count()
                older.add_metric([status, str(age)], count)
        # Built whole before yielding: a database error leaves out all three, not half of them.
        return [by_status, oldest, older]
