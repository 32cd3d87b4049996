"""Benchmark: the Activity export holds its memory flat, 100,000 events as 5,000.

One manufacturer's Activity of 100,000 events (new deliveries taken and refused: sentences that
name an order, a delivery and a product, the refusals by the order's id, so that each chunk
reads orders and products) is exported the way its view does it
(``activity_for_manufacturer`` read through ``.iterator(chunk_size=EXPORT_CHUNK_ROWS)``, the
sentences rendered a chunk at a time by ``audit.sentences.sentences_stream``, into
``refurb_portal.exports.export_response``), the CSV's stream and the .xlsx's file read to the
end. For each format:

- the peak of Python's allocations while the export runs (``tracemalloc``), beside the limit: the
  same export of the first 5,000 events (two and a half chunks), measured in the same run.
  Constant memory means the ratio stays near 1; target at most 1.5x;
- the time, beside the limit of reading the same events' columns as plain tuples through the
  same server-side cursor; reported, no target (each event's sentence is rendered).

    python -m bench.activity_export [--smoke] [--rows N]
"""

from __future__ import annotations

import argparse
from typing import Any

from bench.harness import (
    Report,
    Row,
    analyze_tables,
    bench_environment,
    create_manufacturer,
    parse_args,
    peak_mb,
    timed,
)

MEMORY_RATIO_TARGET = 1.5
LIMIT_ROWS = 5_000
SMOKE_ROWS = 3_000
FULL_ROWS = 100_000


def create_events(maker: Any, user: Any, products: list[Any], *, rows: int) -> None:
    """``rows`` events of ``maker``: nine takes for each refusal, on 100 orders."""
    from audit.models import AuditEvent
    from orders.models import PurchaseOrder

    orders = PurchaseOrder.objects.bulk_create(
        PurchaseOrder(
            manufacturer=maker, number=f"BENCH-{n:05d}", order_type="license", quantity_ordered=10
        )
        for n in range(100)
    )
    batch = 5_000
    for start in range(0, rows, batch):
        events = []
        for n in range(start, min(start + batch, rows)):
            order, product = orders[n % len(orders)], products[n % len(products)]
            refused = n % 10 == 0
            details = (
                {"order_id": order.pk, "product_id": product.pk, "quantity": 5, "reason": "busy"}
                if refused
                else {
                    "order": order.number,
                    "delivery": f"N{n % 1000:03d}",
                    "product_id": product.pk,
                    "quantity": 5,
                    "available_before": 100,
                    "available_after": 95,
                }
            )
            events.append(
                AuditEvent(
                    actor=user,
                    actor_username=user.username,
                    manufacturer=maker,
                    action="delivery.refused" if refused else "delivery.taken",
                    details=details,
                )
            )
        AuditEvent.objects.bulk_create(events)
    analyze_tables()


def export_bytes(maker: Any, *, file_format: str, rows: int) -> int:
    """Run the export of the newest ``rows`` events to the end; return its size in bytes."""
    from audit.selectors import activity_for_manufacturer
    from audit.sentences import Viewer, sentences_stream
    from audit.views import EXPORT_COLUMNS
    from refurb_portal.exports import EXPORT_CHUNK_ROWS, export_response

    events = activity_for_manufacturer(manufacturer=maker)[:rows]
    response = export_response(
        rows=sentences_stream(
            events.iterator(chunk_size=EXPORT_CHUNK_ROWS),
            viewer=Viewer.PORTAL,
            batch=EXPORT_CHUNK_ROWS,
        ),
        columns=EXPORT_COLUMNS,
        file_format=file_format,
        filename="bench",
    )
    size = sum(len(block) for block in response.streaming_content)  # type: ignore[attr-defined]
    response.close()
    return size


def plain_read(maker: Any, *, rows: int) -> int:
    """The time limit: the same events' columns as tuples through the same cursor."""
    from audit.models import AuditEvent
    from refurb_portal.exports import EXPORT_CHUNK_ROWS

    values = (
        AuditEvent.objects.filter(manufacturer=maker)
        .order_by("-occurred_at", "-id")
        .values_list("occurred_at", "actor_username", "action", "details")[:rows]
    )
    return sum(1 for _ in values.iterator(chunk_size=EXPORT_CHUNK_ROWS))


def extra_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=None, help="events in the export")


def main() -> None:
    args = parse_args("A 100,000-event Activity exported in flat memory", extra_args)
    rows = args.rows or (SMOKE_ROWS if args.smoke else FULL_ROWS)
    limit_rows = min(LIMIT_ROWS, rows // 3)
    report = Report("activity_export", smoke=args.smoke)
    report.details.update(rows=rows, limit_rows=limit_rows)
    with bench_environment("activity_export"):
        maker, user, products = create_manufacturer(products=50)
        create_events(maker, user, products, rows=rows)
        for file_format in ("csv", "xlsx"):
            # Once unmeasured, so that imports and caches are not counted in the first figure.
            export_bytes(maker, file_format=file_format, rows=limit_rows)
            small = peak_mb(
                lambda f=file_format: export_bytes(maker, file_format=f, rows=limit_rows)
            )
            large = peak_mb(lambda f=file_format: export_bytes(maker, file_format=f, rows=rows))
            report.add(
                Row(
                    f"{file_format}: peak Python memory, {rows:,} events",
                    large,
                    "MB",
                    limit=small,
                    limit_name=f"MB for {limit_rows:,} events",
                    target=f"<= {MEMORY_RATIO_TARGET}x the limit",
                    passed=large / small <= MEMORY_RATIO_TARGET if small else None,
                )
            )
            seconds = timed(lambda f=file_format: export_bytes(maker, file_format=f, rows=rows))
            plain = timed(lambda: plain_read(maker, rows=rows))
            report.add(
                Row(
                    f"{file_format}: export of {rows:,} events",
                    seconds,
                    "s",
                    limit=plain,
                    limit_name="s reading the same columns as tuples",
                    note="reported, no target: every event's sentence is rendered",
                )
            )
    if not args.smoke:
        for name in [row.name for row in report.rows if row.passed is False]:
            report.fail(f"{name}: over its target")
    report.finish()


if __name__ == "__main__":
    main()
