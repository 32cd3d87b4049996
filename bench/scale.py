"""Scale-out and the token partitioning plan (docs/scale.md).

1. **Webs**: N takes sent at once over HTTP, through 1 gunicorn process and then through 2
   (the client alternating), each gunicorn with one worker: takes per second, and the ratio.
2. **Workers**: N deliveries of Q tokens taken, then the time until every file is READY with 1
   Celery worker process and then with 4 (concurrency 1 each): deliveries per second, and the
   ratio. The machine's core count bounds both ratios; it is printed beside them.
3. **Pages as history grows**: a manufacturer with 1,000 orders (20,000 new deliveries) beside
   one with 100,000 orders and 2,000,000 new deliveries (``--orders``; loaded with
   ``fill_history``, INSERT ... SELECT generate_series), in the same tables: the p50 latency of
   the Purchase Order page, an order's New delivery list and the all-orders New delivery list
   for each, in alternating rounds, and their ratio (target <= 1.2: a page's cost does not grow
   with the manufacturer's history).
4. **Partitions**: the plan's table (``tokens.partitions``) filled with 50,000,000 generated tokens
   (``--tokens``; smoke: 50,000) over 12 monthly partitions in deliveries of 1,000: fill rate,
   bytes per token (heap and indexes), a delivery's lookup with its month (one partition
   scanned, checked with EXPLAIN) and without, and dropping the oldest month (retention).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from bench.harness import (
    BENCH_PASSWORD,
    BIN,
    ROOT,
    BenchEnv,
    BenchFailure,
    Report,
    Row,
    WrkResult,
    analyze_tables,
    bench_environment,
    collectstatic,
    create_manufacturer,
    fill_history,
    free_port,
    gunicorn,
    http_get,
    http_login,
    log_tail,
    parse_args,
    purge_queue,
    run_wrk,
    start_process,
    stop_process,
    wait_http_ok,
)

LOGS = ROOT / "var" / "bench-logs"


def extra_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tokens", type=int, default=0, help="tokens in the partitioned table")
    parser.add_argument("--deliveries", type=int, default=0, help="deliveries per round")
    parser.add_argument(
        "--orders", type=int, default=0, help="orders of the grown manufacturer (pages)"
    )
    parser.add_argument(
        "--only",
        choices=["processes", "pages", "partitions"],
        default="",
        help="run one part only",
    )


@contextmanager
def web(bench: BenchEnv, name: str) -> Iterator[str]:
    port = free_port()
    log = LOGS / f"scale-{name}.log"
    cmd = [
        str(BIN / "gunicorn"),
        "refurb_portal.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        "--workers=1",
        "--threads=8",
        "--no-control-socket",
    ]
    proc = start_process(cmd, bench.env, log)
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/healthz", proc, log, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


@contextmanager
def worker(bench: BenchEnv, name: str) -> Iterator[None]:
    log = LOGS / f"scale-{name}.log"
    cmd = [
        str(BIN / "celery"),
        "-A",
        "refurb_portal",
        "worker",
        "-Q",
        bench.queue,
        "-n",
        f"{name}-{uuid.uuid4().hex[:6]}@%h",
        "--concurrency=1",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
    ]
    proc = start_process(cmd, {**bench.env, "LOG_LEVEL": "INFO"}, log)
    try:
        deadline = time.monotonic() + 90
        while " ready." not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchFailure(f"Celery worker did not start:\n{log_tail(log)}")
            time.sleep(0.2)
        yield
    finally:
        stop_process(proc, timeout=30)


def take_all(client: Any, bases: list[str], orders: list[Any], product: Any, *, q: int) -> float:
    """One take on each order at once (threads; orders apart, so that no take waits for another's
    row lock), alternating over ``bases``; seconds until all are answered."""
    from django.urls import reverse

    n = len(orders)
    statuses: list[int] = []
    lock = threading.Lock()

    def one(index: int) -> None:
        data = {
            "product": str(product.pk),
            "quantity": str(q),
            "idempotency_key": str(uuid.uuid4()),
        }
        path = reverse("deliveries:initiate", args=[orders[index].number])
        status, _ = client.request(bases[index % len(bases)], path, data=data, timeout=300)
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    elapsed = time.perf_counter() - started
    if sorted(set(statuses)) != [302] or len(statuses) != n:
        raise BenchFailure(f"takes answered {sorted(statuses)}")
    return elapsed


def wait_ready(expected: int, timeout: float = 1800) -> float:
    from tokens.models import TokenFile

    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    while TokenFile.objects.filter(status=TokenFile.Status.READY).count() < expected:
        if TokenFile.objects.filter(status=TokenFile.Status.FAILED).exists():
            raise BenchFailure("a token file FAILED")
        if time.monotonic() > deadline:
            raise BenchFailure("token files not READY in time")
        time.sleep(0.1)
    return time.perf_counter() - started


def processes(bench: BenchEnv, report: Report, *, n: int, q: int) -> None:
    import os

    from orders.services import original_delivery_record
    from tests.web_process import PortalClient

    manufacturer, user, products = create_manufacturer(products=1)
    from tests.factories import PurchaseOrderFactory

    orders = [
        PurchaseOrderFactory(manufacturer=manufacturer, quantity_ordered=q * 2, products=products)
        for _ in range(n)
    ]
    for order in orders:
        original_delivery_record(order_id=order.pk, quantity=q * 2, user=None)
    client = PortalClient(user)
    collectstatic(bench)
    made = 0
    with ExitStack() as stack:
        bases = [stack.enter_context(web(bench, f"web{i}")) for i in (1, 2)]
        # Webs: the jobs wait in the queue meanwhile (no worker yet).
        one_web = take_all(client, bases[:1], orders, products[0], q=q)
        two_webs = take_all(client, bases, orders, products[0], q=q)
        purge_queue(bench.queue)
        from tokens.models import TokenFile

        made = TokenFile.objects.count()
        TokenFile.objects.update(enqueued_at=None)  # the sweeper would resend; we send below
        report.add(Row("takes/s over 1 web", n / one_web, "takes/s"))
        report.add(
            Row(
                "takes/s over 2 webs",
                n / two_webs,
                "takes/s",
                limit=n / one_web,
                limit_name="takes/s over 1 web",
                note=f"{os.cpu_count()} cores; both webs share them with PostgreSQL",
            )
        )
        rates = []
        for count in (1, 4):
            from tokens.services import token_file_enqueue

            pending = list(
                TokenFile.objects.filter(status=TokenFile.Status.PENDING).values_list(
                    "pk", flat=True
                )[:n]
            )
            done_before = TokenFile.objects.filter(status=TokenFile.Status.READY).count()
            with ExitStack() as workers:
                for i in range(count):
                    workers.enter_context(worker(bench, f"w{count}-{i}"))
                started = time.perf_counter()
                for pk in pending:
                    token_file_enqueue(token_file_id=pk)
                wait_ready(done_before + len(pending))
                rates.append(len(pending) / (time.perf_counter() - started))
        report.add(
            Row("deliveries/s with 1 worker", rates[0], "deliveries/s", note=f"{q} tokens each")
        )
        report.add(
            Row(
                "deliveries/s with 4 workers",
                rates[1],
                "deliveries/s",
                limit=rates[0],
                limit_name="deliveries/s with 1 worker",
            )
        )
    report.details["processes"] = {"deliveries": n, "tokens_each": q, "files_made": made}


# Each order has this many new deliveries on average, at both sizes (2,000,000 / 100,000).
DELIVERIES_PER_ORDER = 20
PAGE_RATIO_TARGET = 1.2


def page_p50(base: str, cookie: str, path: str, *, seconds: float) -> WrkResult:
    """One page's latency with 2 connections (latency, not throughput: the server is not
    saturated), after one warming request."""
    status, _body = http_get(base, path, cookie)
    if status != 200:
        raise BenchFailure(f"{path} answered {status}")
    result = run_wrk(base + path, seconds=seconds, connections=2, threads=1, cookie=cookie)
    if result.errors or not result.requests:
        raise BenchFailure(f"{path}: {result.errors} errors, {result.requests} requests")
    return result


def query_times(report: Report, makers: dict[str, Any], *, small: int, large: int) -> None:
    """The pages' own queries, timed in this process (median of 15; less noisy than the pages
    over HTTP on a busy machine): what grows with the history, and what does not."""
    from django.conf import settings

    from deliveries.selectors import new_delivery_list
    from orders.selectors import purchase_order_list

    queries = {
        "Purchase Order list: COUNT(*) (uncapped, as its view counts)": lambda m: (
            purchase_order_list(manufacturer=m).count()
        ),
        "Purchase Order list: capped count": lambda m: purchase_order_list(manufacturer=m)[
            : settings.LIST_COUNT_CAP + 1
        ].count(),
        "Purchase Order list: first 25 rows": lambda m: list(
            purchase_order_list(manufacturer=m)[:25]
        ),
        "New delivery list: capped count": lambda m: new_delivery_list(manufacturer=m)[
            : settings.LIST_COUNT_CAP + 1
        ].count(),
        "New delivery list: first 25 rows": lambda m: list(new_delivery_list(manufacturer=m)[:25]),
    }
    for name, query in queries.items():
        medians = {}
        for size, maker in makers.items():
            times = []
            for _ in range(15):
                t0 = time.perf_counter()
                query(maker)
                times.append(time.perf_counter() - t0)
            medians[size] = statistics.median(times) * 1000
        report.add(
            Row(
                f"{name} at {large:,} orders",
                medians["large"],
                "ms",
                limit=medians["small"],
                limit_name=f"ms at {small:,}",
            )
        )


def pages(
    bench: BenchEnv, report: Report, *, small: int, large: int, seconds: float, rounds: int
) -> None:
    """The hot pages' p50 for a manufacturer with ``small`` orders beside one with ``large``
    (both in the same tables), in alternating rounds: the machine's mood changes between
    rounds, not within one, so each round's ratio is kept and the median round reported."""
    from django.db import connection

    sizes = {"small": small, "large": large}
    makers = {}
    started = time.perf_counter()
    for size, orders in sizes.items():
        makers[size], user, products = create_manufacturer(products=20, username=f"bench-{size}")
        fill_history(
            manufacturer_id=makers[size].pk,
            user_id=user.pk,
            product_ids=[p.pk for p in products],
            orders=orders,
            deliveries=orders * DELIVERIES_PER_ORDER,
            prefix=size[0].upper(),
            bulk_load=True,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would have: visibility, statistics
    fill_s = time.perf_counter() - started
    report.add(
        Row(
            f"fill {small + large:,} orders, {(small + large) * DELIVERIES_PER_ORDER:,} deliveries",
            fill_s,
            "s",
            note="INSERT ... SELECT generate_series, then VACUUM ANALYZE",
        )
    )

    query_times(report, makers, small=small, large=large)

    def paths(size: str) -> dict[str, str]:
        # An order in the middle of the manufacturer's history.
        order = f"{size[0].upper()}-{sizes[size] // 2:07d}"
        return {
            "Purchase Order page": "/purchase/orders/",
            "New delivery list of one order": f"/purchase/orders/{order}/new-deliveries/",
            "New delivery list, all orders": "/purchase/new-deliveries/",
        }

    collectstatic(bench)
    found: dict[str, list[tuple[WrkResult, WrkResult]]] = {name: [] for name in paths("small")}
    with gunicorn(bench, workers=2) as server:
        cookies = {
            size: http_login(server.base_url, f"bench-{size}", BENCH_PASSWORD)[0] for size in sizes
        }
        for round_no in range(rounds):
            for name in found:
                pair = tuple(
                    page_p50(server.base_url, cookies[size], paths(size)[name], seconds=seconds)
                    for size in sizes
                )
                found[name].append(pair)  # type: ignore[arg-type]
                print(
                    f"  round {round_no + 1}: {name}: p50 {pair[0].p50_ms:.1f} ms at {small:,}"
                    f" orders, {pair[1].p50_ms:.1f} ms at {large:,}"
                )
    for name, pairs in found.items():
        # The median round by its ratio (large over small).
        pairs.sort(key=lambda p: p[1].p50_ms / p[0].p50_ms)
        before, after = pairs[len(pairs) // 2]
        report.add(
            Row(
                f"{name}: p50 at {large:,} orders (median round)",
                after.p50_ms,
                "ms",
                limit=before.p50_ms,
                limit_name=f"ms at {small:,} orders",
                target=f"<= {PAGE_RATIO_TARGET} of it",
                passed=after.p50_ms <= PAGE_RATIO_TARGET * before.p50_ms,
                note=f"p99 {before.p99_ms:.0f} and {after.p99_ms:.0f} ms",
            )
        )
    report.details["pages"] = {
        name: [{"small": vars(a), "large": vars(b)} for a, b in pairs]
        for name, pairs in found.items()
    }


def partitions(report: Report, *, tokens: int) -> None:
    import datetime as dt

    from django.db import connection

    from tokens.partitions import DIRECTORY, LOOKUP_SQL, PARENT, token_partitions_ensure

    per_delivery = 1000
    first = dt.date(2026, 1, 1)
    created = token_partitions_ensure(today=first, ahead=11)
    months = [first.replace(month=m) for m in range(1, 13)]
    started = time.perf_counter()
    batch = 1_000_000
    with connection.cursor() as cursor:
        for low in range(0, tokens, batch):
            high = min(tokens, low + batch)
            # Deliveries of 1,000 tokens; a delivery's month is its number modulo 12.
            cursor.execute(
                f"INSERT INTO {PARENT} "  # noqa: S608 (our table's name)
                "(issued_month, delivery_id, product_id, serial, uuid, auth_key) "
                "SELECT make_date(2026, 1 + (i / %s) %% 12, 1), i / %s, 1, i %% %s + 1, "
                "substr(md5(i::text), 1, 20), md5(i::text || 'k') "
                "FROM generate_series(%s, %s) AS i",
                [per_delivery, per_delivery, per_delivery, low, high - 1],
            )
            # The directory row beside each token, as the job would write it.
            cursor.execute(
                f"INSERT INTO {DIRECTORY} (uuid, issued_month) "  # noqa: S608 (our table's name)
                "SELECT substr(md5(i::text), 1, 20), make_date(2026, 1 + (i / %s) %% 12, 1) "
                "FROM generate_series(%s, %s) AS i",
                [per_delivery, low, high - 1],
            )
        fill = time.perf_counter() - started
        cursor.execute(f"ANALYZE {PARENT}")
        cursor.execute(f"ANALYZE {DIRECTORY}")
        cursor.execute(f"SELECT pg_total_relation_size('{DIRECTORY}')")
        directory_row = cursor.fetchone()
        assert directory_row is not None
        directory_bytes = int(directory_row[0])
        cursor.execute(
            "SELECT sum(pg_relation_size(inhrelid)), sum(pg_indexes_size(inhrelid)) "
            "FROM pg_inherits WHERE inhparent = %s::regclass",
            [PARENT],
        )
        sizes = cursor.fetchone()
        assert sizes is not None
        # sum() of bigints is numeric: Decimal in Python, which the JSON would turn into text.
        heap, indexes = int(sizes[0]), int(sizes[1])
        deliveries = tokens // per_delivery

        def lookup(with_month: bool) -> tuple[float, int]:
            times, scanned = [], 0
            for k in range(50):
                delivery = (k * 7919) % max(deliveries, 1)
                month = months[delivery % 12]
                where = "delivery_id = %s" + (" AND issued_month = %s" if with_month else "")
                params = [delivery, month] if with_month else [delivery]
                t0 = time.perf_counter()
                cursor.execute(
                    f"SELECT uuid, auth_key FROM {PARENT} WHERE {where} ORDER BY serial",  # noqa: S608
                    params,
                )
                rows = cursor.fetchall()
                times.append(time.perf_counter() - t0)
                if len(rows) != min(per_delivery, tokens):
                    raise BenchFailure(f"delivery {delivery}: {len(rows)} rows")
            cursor.execute(f"EXPLAIN SELECT 1 FROM {PARENT} WHERE {where}", params)  # noqa: S608
            plan = "\n".join(row[0] for row in cursor.fetchall())
            scanned = sum(1 for m in months if f"tokens_token_y{m:%Y}m{m:%m}" in plan)
            return statistics.median(times) * 1000, scanned

        def uuid_lookup() -> tuple[float, float, str]:
            """1,000 UUIDs a lookup (900 issued, 100 unknown), median of 20 lists, and the same
            1,000 keys read from the directory alone (the floor of any lookup by UUID)."""
            times, floor = [], []
            for k in range(20):
                known = [(k * 1_000_003 + j * 49_999) % tokens for j in range(900)]
                cursor.execute(
                    "SELECT substr(md5(i::text), 1, 20) FROM unnest(%s::int[]) i", [known]
                )
                wanted = [row[0] for row in cursor.fetchall()]
                wanted += [f"{k:04d}{j:016d}"[-20:].replace("0", "z") for j in range(100)]
                t0 = time.perf_counter()
                cursor.execute(LOOKUP_SQL, [wanted])
                rows = cursor.fetchall()
                times.append(time.perf_counter() - t0)
                if len({row[0] for row in rows}) != len(set(wanted[:900])):
                    raise BenchFailure(f"UUID lookup {k}: {len(rows)} rows for 900 issued")
                t0 = time.perf_counter()
                cursor.execute(
                    f"SELECT d.uuid FROM unnest(%s::varchar[]) w(uuid) "  # noqa: S608
                    f"JOIN {DIRECTORY} d ON d.uuid = w.uuid",
                    [wanted],
                )
                cursor.fetchall()
                floor.append(time.perf_counter() - t0)
            cursor.execute("EXPLAIN " + LOOKUP_SQL, [wanted])
            plan = "\n".join(row[0] for row in cursor.fetchall())
            return statistics.median(times) * 1000, statistics.median(floor) * 1000, plan

        uuid_ms, uuid_floor_ms, uuid_plan = uuid_lookup()
        if "Seq Scan on tokens_token_y" in uuid_plan:
            raise BenchFailure("the UUID lookup read a partition sequentially:\n" + uuid_plan)
        with_month_ms, with_month_parts = lookup(True)
        without_ms, without_parts = lookup(False)
        if with_month_parts != 1:
            raise BenchFailure(f"a lookup with its month scanned {with_month_parts} partitions")
        t0 = time.perf_counter()
        cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION tokens_token_y2026m01")
        cursor.execute("DROP TABLE tokens_token_y2026m01")
        drop_s = time.perf_counter() - t0
    report.add(Row(f"fill {tokens:,} tokens into 12 partitions", tokens / fill, "tokens/s"))
    report.add(Row("heap bytes per token", heap / tokens, "B"))
    report.add(Row("index bytes per token (4 indexes)", indexes / tokens, "B"))
    report.add(
        Row(
            "a delivery's 1,000 tokens, with its month",
            with_month_ms,
            "ms",
            limit=without_ms,
            limit_name=f"ms without (scans {without_parts} partitions)",
            note="median of 50; the month prunes to 1 partition",
        )
    )
    report.add(
        Row(
            "1,000 UUIDs looked up (900 issued, 100 unknown)",
            uuid_ms,
            "ms",
            limit=uuid_floor_ms,
            limit_name="ms for the same keys in the directory alone",
            target="< 200 ms",
            passed=uuid_ms < 200,
            note="median of 20; directory, then each token's month on its index",
        )
    )
    report.add(Row("UUID directory bytes per token", directory_bytes / tokens, "B"))
    report.add(Row("retention: detach and drop a month", drop_s, "s"))
    report.details["partitions"] = {
        "tokens": tokens,
        "created": created,
        "heap_bytes": heap,
        "index_bytes": indexes,
        "directory_bytes": directory_bytes,
        "uuid_lookup_plan": uuid_plan,
    }


def main() -> None:
    args = parse_args(
        "Scale-out (webs, workers), pages as history grows, token partitions", extra_args
    )
    tokens = args.tokens or (50_000 if args.smoke else 50_000_000)
    n = args.deliveries or (6 if args.smoke else 40)
    q = 200 if args.smoke else 20_000
    large = args.orders or (1_000 if args.smoke else 100_000)
    report = Report(f"scale-{args.only}" if args.only else "scale", smoke=args.smoke)
    LOGS.mkdir(parents=True, exist_ok=True)
    with bench_environment("scale") as bench:
        if args.only in ("", "processes"):
            processes(bench, report, n=n, q=q)
        if args.only in ("", "pages"):
            small = 100 if args.smoke else 1_000
            seconds, rounds = (1.0, 1) if args.smoke else (4.0, 3)
            pages(bench, report, small=small, large=large, seconds=seconds, rounds=rounds)
        if args.only in ("", "partitions"):
            analyze_tables()
            partitions(report, tokens=tokens)
    report.finish()


if __name__ == "__main__":
    main()
