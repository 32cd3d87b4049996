"""Benchmark: a targeted new delivery's list of 1,000,000 old UUIDs, checked (issue #16).

The order holds as many tokens as the list has lines (COPYed in as the job would). The list is
a CSV with a ``uuid`` header, every line an old UUID of the order in shuffled order, plus one
problem of each kind near the end, so every path of the check runs. In a fresh process (its
peak RSS is the check's, Django loaded), the project reads the file streaming
(``deliveries.old_uuids.read_lines``), keeps it in private storage and judges every line
against the order's tokens in PostgreSQL (``old_uuid_list_check``). The limit, in the same
process just before: reading the same file with the standard library's ``csv`` and nothing
else. Targets (the issue's acceptance): under 60 s and under 200 MB peak RSS; the ratio to
plain ``csv`` is reported.

    python -m bench.targeted_list [--smoke] [--lines N]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import (
    BIN,
    ROOT,
    BenchFailure,
    Report,
    Row,
    bench_environment,
    create_manufacturer,
    parse_args,
    proc_status_kb,
)

SECONDS_TARGET = 60.0
RSS_TARGET_MB = 200.0
COPY_CHUNK = 50_000


def create_order_with_tokens(lines: int) -> tuple[int, list[str]]:
    """A license order whose original delivery holds ``lines`` tokens; their UUIDs."""
    from django.db import connection

    from orders.models import PurchaseOrder
    from orders.services import original_delivery_record
    from tokens.generation import new_token_values

    maker, _, products = create_manufacturer(products=1)
    order = PurchaseOrder.objects.create(
        number="BENCH-TARGETED",
        manufacturer=maker,
        order_type=PurchaseOrder.OrderType.LICENSE,
        quantity_ordered=lines,
    )
    order.products.set(products)
    original = original_delivery_record(order_id=order.pk, quantity=lines, user=None)
    uuids: list[str] = []
    with connection.cursor() as cursor:
        for first in range(1, lines + 1, COPY_CHUNK):
            count = min(COPY_CHUNK, lines - first + 1)
            values, keys = new_token_values(count)
            uuids += values
            with cursor.copy(
                "COPY tokens_token (order_id, original_delivery_id, product_id, serial, uuid, "
                "auth_key) FROM STDIN"
            ) as copy:
                copy.write(
                    "".join(
                        f"{order.pk}\t{original.pk}\t{products[0].pk}\t{first + i}\t{u}\t{k}\n"
                        for i, (u, k) in enumerate(zip(values, keys, strict=True))
                    )
                )
        cursor.execute("ANALYZE tokens_token")
    return order.pk, uuids


def write_list(path: Path, uuids: list[str]) -> int:
    """The uploaded CSV: a header, the UUIDs shuffled, then one problem of each kind; its
    number of lines after the header."""
    shuffled = uuids[:]
    random.Random(16).shuffle(shuffled)
    problems = ["NOT-A-UUID", "z" * 20, shuffled[0]]  # malformed, unknown, duplicate
    with path.open("w", newline="") as out:
        out.write("uuid\r\n")
        for value in shuffled[: len(shuffled) - len(problems)] + problems:
            out.write(f"{value}\r\n")
    return len(shuffled)


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM): unlike ``ru_maxrss``, which Linux carries across the
    exec from the forked parent (holding the million UUIDs), it starts with this program."""
    return proc_status_kb(os.getpid(), "VmHWM") / 1024


def child(path: str, order_id: int) -> None:
    """Run in a fresh process: the plain ``csv`` read, then the project's check; prints JSON."""
    import django

    django.setup()
    from deliveries.old_uuids import old_uuid_list_check, old_uuid_list_store, read_lines

    started = time.perf_counter()
    with open(path, newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle))
    plain_s = time.perf_counter() - started
    rss_plain = _peak_rss_mb()
    started = time.perf_counter()
    with open(path, "rb") as handle:
        key = old_uuid_list_store(order_id=order_id, lines=read_lines(handle, name=path))
    stored_s = time.perf_counter() - started
    rss_stored = _peak_rss_mb()
    check = old_uuid_list_check(order_id=order_id, key=key)
    total_s = time.perf_counter() - started
    print(
        json.dumps(
            {
                "plain_csv_s": plain_s,
                "plain_rows": rows,
                "read_and_store_s": stored_s,
                "judge_s": total_s - stored_s,
                "project_s": total_s,
                "lines": check.lines,
                "valid": check.valid,
                "counts": check.counts,
                "peak_rss_mb": _peak_rss_mb(),
                "peak_rss_after_plain_csv_mb": rss_plain,
                "peak_rss_after_store_mb": rss_stored,
            }
        )
    )


def extra_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lines", type=int, default=None, help="lines in the list")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "ORDER_ID"), help=argparse.SUPPRESS)


def main() -> None:
    args = parse_args("A 1,000,000-line list of old UUIDs checked", extra_args)
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    lines = args.lines or (2_000 if args.smoke else 1_000_000)
    report = Report("targeted_list", smoke=args.smoke)
    with bench_environment("targeted") as bench:
        order_id, uuids = create_order_with_tokens(lines)
        path = bench.private_root / "old-uuids.csv"
        write_list(path, uuids)
        del uuids
        result = subprocess.run(
            [str(BIN / "python"), "-m", "bench.targeted_list", "--child", str(path), str(order_id)],
            cwd=ROOT,
            env=bench.env,
            check=True,
            capture_output=True,
            text=True,
        )
        found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    report.details.update(found, lines_in_file=lines)
    expected = {"malformed": 1, "unknown": 1, "duplicate": 1}
    if found["lines"] != lines or found["counts"] != expected or found["valid"] != lines - 3:
        report.fail(f"the check found {found['lines']} lines, {found['counts']}")
    seconds = found["project_s"]
    report.add(
        Row(
            f"{lines:,}-line list read, stored and judged",
            seconds,
            "s",
            limit=found["plain_csv_s"],
            limit_name="s plain csv read",
            target=f"< {SECONDS_TARGET:.0f} s",
            passed=seconds < SECONDS_TARGET,
        )
    )
    report.add(Row("  phase: read streaming and stored", found["read_and_store_s"], "s"))
    report.add(Row("  phase: COPY into a temp table and judged in SQL", found["judge_s"], "s"))
    report.add(
        Row(
            "peak RSS of the checking process (Django loaded)",
            found["peak_rss_mb"],
            "MB",
            target=f"< {RSS_TARGET_MB:.0f} MB",
            passed=found["peak_rss_mb"] < RSS_TARGET_MB,
        )
    )
    if not args.smoke and not all(row.passed for row in report.rows if row.passed is not None):
        report.fail("a target was missed")
    report.finish()


if __name__ == "__main__":
    try:
        main()
    except BenchFailure as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
