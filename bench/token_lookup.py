"""Benchmark 7: the token lookup and the revocation list against a table of 10,000,000 tokens.

The table is filled in this run's own database with ``INSERT ... SELECT generate_series`` (in
batches of 1,000,000 rows; values that satisfy the table's CHECKs: hex UUIDs and AuthKeys),
shaped like a platform after years of refurbishment: 90% of the tokens are one manufacturer's,
10% another's; one in ten has been replaced by the next token (``replaces``), one in a hundred
revoked; retirements spread over 2026.

1. Lookup: ``tokens.selectors.token_lookup`` for 1,000 UUIDs (90% the asker's, 5% the other
   manufacturer's, 5% never issued), over 20 rounds of fresh UUIDs, beside two limits measured on
   the same UUIDs in the same round: the very SQL the selector sent, run bare through psycopg
   (no ORM), and the index scan of the 1,000 keys alone (``SELECT id ... WHERE uuid = ANY``).
   Target: under 200 ms (issue #16), median and worst round.
2. Revocation list: one day of one manufacturer's retired UUIDs written as the CSV download
   writes them (``revocation_rows`` through a server-side cursor, ``defusedcsv``), beside
   ``COPY (the same SELECT) TO STDOUT``; and the plan must use the ``retired_at`` index.

    python -m bench.token_lookup [--smoke] [--tokens N]      (50,000,000 works too: ~5x the time)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import hashlib
import random
import statistics
import time
from collections.abc import Iterator
from typing import Any

from bench.harness import (
    BenchFailure,
    Report,
    Row,
    analyze_tables,
    bench_environment,
    create_manufacturer,
    parse_args,
)

LOOKUP_TARGET_MS = 200
ROUNDS = 20
UUIDS_PER_LOOKUP = 1000
BATCH = 1_000_000
YEAR_START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def extra_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tokens", type=int, default=0, help="tokens in the table (50,000,000)")


def uuid_of(i: int) -> str:
    """The UUID the fill gives token ``i``: the first 20 hex digits of md5(i)."""
    return hashlib.md5(str(i).encode()).hexdigest()[:20]  # noqa: S324 (test data, not security)


def fill(*, tokens: int) -> dict[str, Any]:
    """The two manufacturers, their orders and original deliveries, and ``tokens`` tokens."""
    from django.db import connection

    from accounts.models import Manufacturer
    from orders.models import OriginalDelivery, Product, PurchaseOrder

    maker, _user, (product,) = create_manufacturer(products=1)
    other = Manufacturer.objects.create(name="Other Devices")
    other_product = Product.objects.create(
        product_id="benchother00001",
        name="Other product",
        category=product.category,
        manufacturer=other,
    )
    orders = []
    for number, owner, sold in (
        ("LIC-LOOKUP-1", maker, product),
        ("LIC-LOOKUP-2", other, other_product),
    ):
        order = PurchaseOrder.objects.create(
            number=number,
            manufacturer=owner,
            order_type=PurchaseOrder.OrderType.LICENSE,
            quantity_ordered=tokens,
            quantity_delivered=tokens,
            status=PurchaseOrder.Status.DELIVERED,
        )
        order.products.set([sold])
        OriginalDelivery.objects.create(order=order, quantity=tokens)
        orders.append(order)
    (mine, theirs) = orders
    mine_delivery = mine.original_deliveries.get()
    theirs_delivery = theirs.original_deliveries.get()
    started = time.perf_counter()
    with connection.cursor() as cursor, bulk_load(cursor):
        for low in range(1, tokens + 1, BATCH):
            high = min(tokens, low + BATCH - 1)
            # Token i: the other manufacturer's when i % 10 = 9. Every i % 10 = 1 replaces
            # i - 1 (so i % 10 = 0 is replaced); every i % 100 = 55 is revoked. Ids are i, so
            # that replaces_id can be computed; the identity sequence is moved past them below.
            cursor.execute(
                """
                INSERT INTO tokens_token (
                    id, order_id, original_delivery_id, delivery_id, product_id, serial,
                    uuid, auth_key, status, replaces_id, issued_at, retired_at)
                SELECT i,
                       CASE WHEN i %% 10 = 9 THEN %(theirs)s ELSE %(mine)s END,
                       CASE WHEN i %% 10 = 9 THEN %(theirs_delivery)s ELSE %(mine_delivery)s END,
                       NULL,
                       CASE WHEN i %% 10 = 9 THEN %(other_product)s ELSE %(product)s END, i,
                       substr(md5(i::text), 1, 20), md5(i::text || 'k'),
                       CASE WHEN i %% 10 = 0 THEN 'replaced'
                            WHEN i %% 100 = 55 THEN 'revoked' ELSE 'issued' END,
                       CASE WHEN i %% 10 = 1 AND i > 1 THEN i - 1 END,
                       %(start)s::timestamptz - interval '1 year',
                       CASE WHEN i %% 10 = 0 OR i %% 100 = 55
                            THEN %(start)s::timestamptz + (i %% 365) * interval '1 day'
                                 + (i %% 86400) * interval '1 second' END
                FROM generate_series(%(low)s::bigint, %(high)s::bigint) AS i
                """,
                {
                    "mine": mine.pk,
                    "theirs": theirs.pk,
                    "mine_delivery": mine_delivery.pk,
                    "theirs_delivery": theirs_delivery.pk,
                    "product": product.pk,
                    "other_product": other_product.pk,
                    "start": YEAR_START,
                    "low": low,
                    "high": high,
                },
            )
            print(f"  filled {high:,} of {tokens:,} tokens", flush=True)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('tokens_token', 'id'), %s)", [tokens + 1]
        )
    seconds = time.perf_counter() - started
    analyze_tables()
    return {"maker": maker, "other": other, "fill_s": seconds}


@contextlib.contextmanager
def bulk_load(cursor: Any) -> Iterator[None]:
    """Load the way a restore does: the table's unique constraints and indexes (all but its
    primary key) dropped, rebuilt once the rows are in (a sorted build, not 10,000,000 random
    inserts), and, for a superuser, the foreign-key triggers skipped (the rows are made valid).
    The index and constraint definitions are read from the catalogue, so they are the
    migrations' own."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'tokens_token'::regclass AND contype = 'u'"
    )
    uniques = cursor.fetchall()
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tokens_token' "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint "
        "WHERE conrelid = 'tokens_token'::regclass)"
    )
    plain = cursor.fetchall()
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    (superuser,) = cursor.fetchone()
    for name, _definition in uniques:
        cursor.execute(f'ALTER TABLE tokens_token DROP CONSTRAINT "{name}"')
    for name, _definition in plain:
        cursor.execute(f'DROP INDEX "{name}"')
    if superuser:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        if superuser:
            cursor.execute("SET session_replication_role = DEFAULT")
        started = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for name, definition in uniques:
            cursor.execute(f'ALTER TABLE tokens_token ADD CONSTRAINT "{name}" {definition}')
        for _name, definition in plain:
            cursor.execute(definition)
        cursor.execute("RESET maintenance_work_mem")
        print(f"  indexes rebuilt in {time.perf_counter() - started:.0f} s", flush=True)


def sample(rng: random.Random, tokens: int) -> list[str]:
    """1,000 distinct UUIDs: 90% the asker's, 5% the other manufacturer's, 5% never issued."""
    picked: dict[str, None] = {}
    while len(picked) < UUIDS_PER_LOOKUP * 90 // 100:
        i = rng.randint(1, tokens)
        if i % 10 != 9:
            picked[uuid_of(i)] = None
    while len(picked) < UUIDS_PER_LOOKUP * 95 // 100:
        i = rng.randint(1, tokens)
        if i % 10 == 9:
            picked[uuid_of(i)] = None
    while len(picked) < UUIDS_PER_LOOKUP:
        picked[uuid_of(tokens + rng.randint(1, 10**12))] = None
    return list(picked)


def bare_ms(raw: Any, queries: list[tuple[str, Any]]) -> float:
    """Run ``queries`` (SQL and parameters) through psycopg, fetching every row."""
    t0 = time.perf_counter()
    for sql, params in queries:
        raw.execute(sql, params)
        raw.fetchall()
    return (time.perf_counter() - t0) * 1000


def timed_lookup(*, uuids: list[str], maker_id: int, times: list[float], found: list[int]) -> None:
    from tokens.selectors import token_lookup

    t0 = time.perf_counter()
    histories = token_lookup(uuids=uuids, manufacturer_id=maker_id)
    times.append((time.perf_counter() - t0) * 1000)
    found.append(sum(1 for h in histories if h.token is not None))


def timed_limits(
    *, uuids: list[str], statements: list[tuple[str, Any]], same_sql: list[float], keys: list[float]
) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        raw = cursor.cursor
        same_sql.append(bare_ms(raw, statements))
        keys.append(bare_ms(raw, [("SELECT id FROM tokens_token WHERE uuid = ANY(%s)", [uuids])]))


def lookups(report: Report, *, tokens: int, maker_id: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tokens.selectors import token_lookup

    rng = random.Random(16)
    project: list[float] = []
    same_sql: list[float] = []
    index_only: list[float] = []
    cold: list[float] = []
    found: list[int] = []
    for round_number in range(ROUNDS):
        uuids = sample(rng, tokens)
        # The first lookup of fresh UUIDs reads their pages from wherever they are (timed on
        # its own as "cold"); it also gives the statements the limit runs.
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            token_lookup(uuids=uuids, manufacturer_id=maker_id)
            cold.append((time.perf_counter() - t0) * 1000)
        # The same statements, as PostgreSQL received them (parameters already bound).
        statements = [(q["sql"], None) for q in captured.captured_queries]

        run_project = functools.partial(
            timed_lookup, uuids=uuids, maker_id=maker_id, times=project, found=found
        )
        run_limits = functools.partial(
            timed_limits, uuids=uuids, statements=statements, same_sql=same_sql, keys=index_only
        )
        # The order alternates, so that neither side always runs right after the other.
        for step in (run_project, run_limits) if round_number % 2 else (run_limits, run_project):
            step()
    expected = UUIDS_PER_LOOKUP * 90 // 100
    if any(n != expected for n in found):
        raise BenchFailure(f"lookups found {found}, expected {expected} each (the asker's only)")
    median = statistics.median(project)
    report.add(
        Row(
            f"lookup of {UUIDS_PER_LOOKUP:,} UUIDs in {tokens:,} tokens (median of {ROUNDS})",
            median,
            "ms",
            limit=statistics.median(same_sql),
            limit_name="ms, the same SQL bare",
            target=f"< {LOOKUP_TARGET_MS} ms",
            passed=median < LOOKUP_TARGET_MS,
            note=f"index scan of the {UUIDS_PER_LOOKUP:,} keys alone: "
            f"{statistics.median(index_only):.1f} ms (median); "
            f"{len(statements)} queries a lookup; pages warm (the round's first lookup ran)",
        )
    )
    worst = max(project)
    report.add(
        Row(
            "lookup, worst round",
            worst,
            "ms",
            limit=max(same_sql),
            limit_name="ms, the same SQL bare",
            target=f"< {LOOKUP_TARGET_MS} ms",
            passed=worst < LOOKUP_TARGET_MS,
        )
    )
    report.add(
        Row(
            "lookup of 1,000 fresh UUIDs, the first time (median)",
            statistics.median(cold),
            "ms",
            note="their pages read from the OS cache or the disk, no limit beside it",
        )
    )
    report.details["lookup"] = {
        "cold_ms": cold,
        "project_ms": project,
        "same_sql_ms": same_sql,
        "index_only_ms": index_only,
    }


def revocations(report: Report, *, maker_id: int) -> None:
    from django.db import connection

    from tokens.lookup_views import _csv_lines
    from tokens.selectors import REVOCATION_COLUMNS, revocation_list, revocation_rows

    day = YEAR_START + dt.timedelta(days=100)
    start, end = day, day + dt.timedelta(days=1)
    queryset = revocation_list(manufacturer_id=maker_id, start=start, end=end).values_list(
        *["uuid", "status", "retired_at", "order__number", "product__product_id",
          "replaced_by__uuid"]
    )  # fmt: skip
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    if "retired" not in plan:
        raise BenchFailure(f"the revocation list does not use the retired_at index:\n{plan}")
    times, limits, rows = [], [], 0
    for _ in range(5):
        t0 = time.perf_counter()
        size = 0
        for line in _csv_lines(revocation_rows(manufacturer_id=maker_id, start=start, end=end)):
            size += len(line)
        times.append((time.perf_counter() - t0) * 1000)
        rows = size
        with connection.cursor() as cursor:
            t1 = time.perf_counter()
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
                for _data in copy:
                    pass
            limits.append((time.perf_counter() - t1) * 1000)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql}) AS listed", params)  # noqa: S608
        (count,) = cursor.fetchone()
    report.add(
        Row(
            f"revocation list of a day, CSV ({count:,} rows)",
            statistics.median(times),
            "ms",
            limit=statistics.median(limits),
            limit_name="ms, COPY of the same SELECT",
            note=f"median of 5; {rows:,} bytes; columns {', '.join(REVOCATION_COLUMNS)}",
        )
    )
    report.details["revocation_list"] = {"rows": count, "project_ms": times, "copy_ms": limits}


def main() -> None:
    args = parse_args("The token lookup and the revocation list", extra_args)
    tokens = args.tokens or (50_000 if args.smoke else 50_000_000)
    report = Report("token_lookup", smoke=args.smoke)
    report.details["tokens"] = tokens
    with bench_environment("lookup"):
        made = fill(tokens=tokens)
        report.add(Row(f"fill {tokens:,} tokens (INSERT ... SELECT)", tokens / made["fill_s"],
                       "tokens/s"))  # fmt: skip
        lookups(report, tokens=tokens, maker_id=made["maker"].pk)
        revocations(report, maker_id=made["maker"].pk)
    report.finish()


if __name__ == "__main__":
    main()
