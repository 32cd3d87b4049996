"""Benchmarks 3 and 4: a 10,000,000-token delivery end to end, then the download of its file.

3. The limit, measured first in the same database: Python makes the tokens (``secrets``), COPY
   puts them into ``tokens_token`` (the same table, with its unique indexes), COPY TO writes them
   out as CSV to a file; streamed in chunks; then xlsxwriter (the job's library, same options)
   writes as many rows from memory into .xlsx parts of the same size. The table is emptied
   afterwards. Then the project: ``new_delivery_take`` for 10,000,000 tokens, its job through a
   real Celery worker (prefork, as docker-compose runs it) on this run's own queue, until the
   file is READY with its CSV and its .xlsx parts. Phases come from the TokenFile's timestamps
   and the job's log line. Targets (issue 19): end to end at most 1.2x the limit; the worker's
   peak RSS (VmHWM of the process that ran the job) under 150 MB. The files are checked: the CSV's
   hash, and every .xlsx part read with calamine (tyuTool v3's reader) row for row against it.
4. The download of that file through gunicorn (one worker, so the serving process is known),
   logged in as the owner: the worker's peak RSS growth during the download (under 20 MB), and
   MB/s beside reading the same file from disk; the bytes must match the recorded SHA-256.

    python -m bench.token_file [--smoke] [--profile] [--tokens N]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import inspect
import re
import secrets
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

from bench.harness import (
    BENCH_PASSWORD,
    BENCH_USERNAME,
    BenchEnv,
    BenchFailure,
    Report,
    Row,
    bench_environment,
    celery_worker,
    child_pids,
    collectstatic,
    create_manufacturer,
    gunicorn,
    http_get,
    http_login,
    log_tail,
    parse_args,
    print_profile,
    proc_status_kb,
    py_spy,
    reset_peak_rss,
    token_file_relay,
)

RATIO_TARGET = 1.2
WORKER_RSS_TARGET_MB = 150
DOWNLOAD_GROWTH_TARGET_MB = 20
CHUNK = 50_000


def create_fixtures(*, tokens: int) -> dict[str, Any]:
    from orders.models import OriginalDelivery, PurchaseOrder

    maker, user, (product,) = create_manufacturer(products=1)
    # Twice the tokens: the limit's delivery and the project's come from the same order.
    order = PurchaseOrder.objects.create(
        number="LIC-BENCH-1",
        manufacturer=maker,
        order_type=PurchaseOrder.OrderType.LICENSE,
        quantity_ordered=2 * tokens,
        quantity_delivered=2 * tokens,
        status=PurchaseOrder.Status.DELIVERED,
    )
    order.products.set([product])
    OriginalDelivery.objects.create(order=order, quantity=2 * tokens)
    return {"user": user, "product": product, "order": order}


def generation_landed() -> bool:
    from tokens import generation

    return "NotImplementedError" not in inspect.getsource(generation.token_file_generate)


# --- The limit ---------------------------------------------------------------------------------


def measure_limit(fixtures: dict[str, Any], *, tokens: int, out_dir: Path) -> dict[str, float]:
    """Python generation, COPY in and COPY out of ``tokens`` tokens, each phase timed alone."""
    from django.db import connection, transaction

    from deliveries.models import NewDelivery

    user, product, order = fixtures["user"], fixtures["product"], fixtures["order"]
    delivery = NewDelivery.objects.create(
        order=order, sequence=1, product=product, quantity=tokens, taken_by=user,
        idempotency_key=uuid.uuid4(),
    )  # fmt: skip
    # The order named, as the job names it (else a row trigger would look it up per row).
    prefix = f"{order.pk}\t{delivery.pk}\t{product.pk}\t"
    generate = copy_in = 0.0
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(
            "COPY tokens_token (order_id, delivery_id, product_id, serial, uuid, auth_key) "
            "FROM STDIN"
        ) as copy:
            made = 0
            while made < tokens:
                n = min(CHUNK, tokens - made)
                t0 = time.perf_counter()
                # Hex fits the columns' checks ([a-z0-9]{20}, [A-Za-z0-9]{32}).
                rows = [(secrets.token_hex(10), secrets.token_hex(16)) for _ in range(n)]
                t1 = time.perf_counter()
                copy.write(
                    "".join(f"{prefix}{made + i}\t{u}\t{k}\n" for i, (u, k) in enumerate(rows, 1))
                )
                copy_in += time.perf_counter() - t1
                generate += t1 - t0
                made += n
        t2 = time.perf_counter()
    # The commit flushes the WAL (the tokens' references were checked per COPY statement).
    commit = time.perf_counter() - t2
    path = out_dir / "limit-tokens.csv"
    t3 = time.perf_counter()
    with connection.cursor() as cursor, path.open("wb") as out:
        # The job's file: order number, delivery number, product ID, UUID, AuthKey.
        query = (
            "COPY (SELECT %s, %s, %s, uuid, auth_key FROM tokens_token"
            " WHERE delivery_id = %s ORDER BY serial) TO STDOUT (FORMAT csv, HEADER)"
        )
        params = [order.number, delivery.number, product.product_id, delivery.pk]
        with cursor.cursor.copy(query, params) as copy:
            for data in copy:
                out.write(data)
    copy_out = time.perf_counter() - t3
    size = path.stat().st_size
    path.unlink()
    xlsx = xlsx_from_memory(
        cells=(order.number, delivery.number, product.product_id), tokens=tokens, out_dir=out_dir
    )
    with connection.cursor() as cursor:
        # Both runs start from an empty table with the same indexes.
        cursor.execute("TRUNCATE tokens_tokenreplacement, tokens_token")
        cursor.execute("VACUUM ANALYZE tokens_token")
    # The limit's delivery went around the service: it must not stay to break the invariant.
    # Deleting a delivery is refused to all but the delivery service (a trigger): say we are it.
    from django.db import transaction

    from refurb_portal.writers import NEW_DELIVERY, service_writes

    with transaction.atomic(), service_writes(NEW_DELIVERY):
        delivery.delete()
    return {
        "generate_s": generate,
        "copy_in_s": copy_in,
        "commit_s": commit,
        "copy_out_s": copy_out,
        "xlsx_s": xlsx["seconds"],
        "xlsx_bytes": xlsx["bytes"],
        "total_s": generate + copy_in + commit + copy_out + xlsx["seconds"],
        "csv_bytes": size,
    }


def xlsx_from_memory(
    *, cells: tuple[str, str, str], tokens: int, out_dir: Path
) -> dict[str, float]:
    """The .xlsx limit: xlsxwriter in constant_memory mode, with the job's options and column
    formats, writing ``tokens`` rows held in memory (a table of CHUNK token values, cycled:
    the writer's cost does not depend on which values) into parts of the job's size."""
    from django.conf import settings
    from django.utils import timezone

    from tokens.generation import license_list_workbook, workbook_parts

    made_at = timezone.now()

    table = [(secrets.token_hex(10), secrets.token_hex(16)) for _ in range(min(CHUNK, tokens))]
    order, delivery, product = cells
    seconds = 0.0
    size = 0
    for part in workbook_parts(tokens, rows_per_part=settings.TOKEN_FILE_XLSX_ROWS_PER_PART):
        path = out_dir / f"limit-part-{part.part}.xlsx"
        t0 = time.perf_counter()
        workbook, sheet = license_list_workbook(str(path), created=made_at)
        write = sheet.write_string
        for row in range(1, part.rows + 1):
            uuid, key = table[row % len(table)]
            write(row, 0, uuid)
            write(row, 1, key)
            write(row, 2, order)
            write(row, 3, delivery)
            write(row, 4, product)
        workbook.close()
        seconds += time.perf_counter() - t0
        size += path.stat().st_size
        path.unlink()
    return {"seconds": seconds, "bytes": size}


# --- The project -------------------------------------------------------------------------------


def run_project(
    bench: BenchEnv,
    fixtures: dict[str, Any],
    *,
    tokens: int,
    profile: bool,
    report: Report,
    limit_s: float,
) -> dict[str, Any]:
    from deliveries.services import new_delivery_take
    from tokens.models import TokenFile

    # Given up on at 4x the limit just measured (a fixed 900 s stopped a 10,000,000-token run
    # whose limit alone took 37 minutes on a loaded machine).
    timeout = 30 if tokens <= 10_000 else max(900.0, 4 * limit_s)
    # The take only records its job; the relay sends it, as deployed.
    with celery_worker(bench) as worker, token_file_relay(bench):
        pool = child_pids(worker.pid)
        with py_spy(worker.pid, "celery-worker", enabled=profile, report=report):
            t0 = time.perf_counter()
            result = new_delivery_take(
                order_id=fixtures["order"].pk,
                product_id=fixtures["product"].pk,
                quantity=tokens,
                user=fixtures["user"],
                idempotency_key=uuid.uuid4(),
            )
            t_taken = time.perf_counter()
            token_file = TokenFile.objects.get(delivery=result.delivery)
            seen_generating = None
            while True:
                token_file.refresh_from_db()
                now = time.perf_counter()
                if token_file.status == TokenFile.Status.GENERATING and seen_generating is None:
                    seen_generating = now
                if token_file.status in {TokenFile.Status.READY, TokenFile.Status.FAILED}:
                    break
                if now - t0 > timeout:
                    raise BenchFailure(
                        f"token file still {token_file.status} after {timeout:.0f} s:\n"
                        f"{log_tail(bench.private_root.parent / 'bench-logs' / 'token-worker.log')}"
                    )
                time.sleep(0.05)
            t_ready = time.perf_counter()
        peaks = {pid: proc_status_kb(pid, "VmHWM") / 1024 for pid in [worker.pid, *pool]}
    if token_file.status != TokenFile.Status.READY:
        raise BenchFailure(f"the token file FAILED: {token_file.error}")
    tf = token_file

    def span(a: Any, b: Any) -> float | None:
        return (b - a).total_seconds() if a and b else None

    job_log = re.search(
        r"ready: \d+ tokens in ([\d.]+) s, CSV of \d+ bytes in ([\d.]+) s, "
        r"\d+ .xlsx part\(s\) of \d+ bytes in ([\d.]+) s, commit ([\d.]+) s",
        (bench.private_root.parent / "bench-logs" / f"{bench.name}-worker.log").read_text(),
    )
    return {
        "token_file": tf,
        "job_tokens_s": float(job_log.group(1)) if job_log else None,
        "job_csv_s": float(job_log.group(2)) if job_log else None,
        "job_xlsx_s": float(job_log.group(3)) if job_log else None,
        "job_commit_s": float(job_log.group(4)) if job_log else None,
        "profiled": profile,
        "take_s": t_taken - t0,
        "end_to_end_s": t_ready - t0,
        "queue_wait_s": span(tf.enqueued_at or tf.created_at, tf.started_at),
        "job_s": span(tf.started_at, tf.finished_at),
        "seen_generating_after_s": (seen_generating - t0) if seen_generating else None,
        "worker_peak_rss_mb": max(peaks[pid] for pid in pool) if pool else peaks[worker.pid],
        "worker_master_peak_rss_mb": peaks[worker.pid],
        "pool_pids": pool,
    }


def check_file(token_file: Any, *, tokens: int) -> tuple[str, int, Path]:
    """The file holds every token once; returns its SHA-256, size and local path."""
    from django.core.files.storage import storages

    from tokens.models import Token

    count = Token.objects.filter(delivery=token_file.delivery).count()
    if count != tokens:
        raise BenchFailure(f"{count} tokens in the table for a delivery of {tokens}")
    storage = storages["private"]
    path = Path(storage.path(token_file.storage_name))
    digest = hashlib.sha256()
    lines = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
            lines += block.count(b"\n")
    if token_file.sha256 and digest.hexdigest() != token_file.sha256:
        raise BenchFailure("the file's SHA-256 differs from the one recorded")
    if lines < tokens:
        raise BenchFailure(f"the file has {lines} lines for {tokens} tokens")
    return digest.hexdigest(), path.stat().st_size, path


def check_workbooks(token_file: Any, csv_path: Path, *, tokens: int) -> dict[str, Any]:
    """The .xlsx parts: as many as the split says, each hashed as recorded, each with its
    header, and their rows together equal to the CSV's (read with calamine, the reader of
    tyuTool v3, one part at a time)."""
    import csv

    from django.conf import settings
    from django.core.files.storage import storages
    from python_calamine import CalamineWorkbook

    from tokens.generation import FILE_HEADER, workbook_parts

    storage = storages["private"]
    workbooks = list(token_file.workbooks.order_by("part"))
    expected = workbook_parts(tokens, rows_per_part=settings.TOKEN_FILE_XLSX_ROWS_PER_PART)
    if [(w.part, w.row_count) for w in workbooks] != [(p.part, p.rows) for p in expected]:
        raise BenchFailure(f"{len(workbooks)} .xlsx part(s) where the split makes {len(expected)}")
    t0 = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8") as handle:
        csv_rows = csv.reader(handle)
        next(csv_rows)
        for workbook in workbooks:
            path = Path(storage.path(workbook.storage_name))
            if hashlib.sha256(path.read_bytes()).hexdigest() != workbook.sha256:
                raise BenchFailure(f"part {workbook.part}: SHA-256 differs from the one recorded")
            rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
            if tuple(rows[0]) != FILE_HEADER:
                raise BenchFailure(f"part {workbook.part}: header {rows[0]}")
            for row in rows[1:]:
                if list(row) != next(csv_rows):
                    raise BenchFailure(f"part {workbook.part}: a row differs from the CSV's")
            del rows
        if next(csv_rows, None) is not None:
            raise BenchFailure("the CSV has rows that no .xlsx part holds")
    return {
        "parts": [{"part": w.part, "rows": w.row_count, "bytes": w.size_bytes} for w in workbooks],
        "read_and_compare_s": time.perf_counter() - t0,
    }


# --- The download ------------------------------------------------------------------------------


def download_path(base_url: str, cookie: str, order_number: str) -> str | None:
    """The download link on the order's New delivery list of Token, if the page has one."""
    for path in (f"/purchase/orders/{order_number}/new-deliveries/", "/purchase/new-deliveries/"):
        status, body = http_get(base_url, path, cookie)
        if status != 200:
            continue
        for href in re.findall(r'href="([^"]+)"', body.decode()):
            if "/export." in href:  # the list's own rows as a file, not a token file
                continue
            if "download" in href or href.endswith(".csv"):
                return urllib.parse.urljoin(path, href.replace("&amp;", "&"))
    return None


def timed_download(base_url: str, path: str, cookie: str) -> tuple[float, int, str, int]:
    parts = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    digest = hashlib.sha256()
    size = 0
    t0 = time.perf_counter()
    conn.request("GET", path, headers={"Cookie": cookie})
    response = conn.getresponse()
    while block := response.read(1 << 20):
        digest.update(block)
        size += len(block)
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed, size, digest.hexdigest(), response.status


def disk_read(path: Path) -> float:
    digest = hashlib.sha256()
    t0 = time.perf_counter()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return time.perf_counter() - t0


def measure_download(
    bench: BenchEnv, order_number: str, sha256: str, size: int, local: Path, report: Report
) -> None:
    collectstatic(bench)
    with gunicorn(bench, workers=1) as server:
        cookie, _ = http_login(server.base_url, BENCH_USERNAME, BENCH_PASSWORD)
        path = download_path(server.base_url, cookie, order_number)
        if path is None:
            report.add(
                Row(
                    "download",
                    None,
                    "",
                    note="not measured: the list of Token has no download link yet",
                )
            )
            return
        (worker,) = server.worker_pids()
        runs = []
        for attempt in ("first", "second"):
            before = proc_status_kb(worker, "VmRSS") / 1024
            reset_peak_rss(worker)
            elapsed, got, digest, status = timed_download(server.base_url, path, cookie)
            peak = proc_status_kb(worker, "VmHWM") / 1024
            if status != 200 or got != size or digest != sha256:
                report.fail(
                    f"download {attempt}: HTTP {status}, {got} bytes, "
                    f"sha256 match {digest == sha256}"
                )
            runs.append(
                {
                    "attempt": attempt,
                    "seconds": elapsed,
                    "bytes": got,
                    "rss_before_mb": before,
                    "peak_mb": peak,
                    "growth_mb": peak - before,
                }
            )
        disk_s = min(disk_read(local) for _ in range(3))
    mb = size / 1e6
    best = min(runs, key=lambda r: r["seconds"])
    growth = max(r["growth_mb"] for r in runs)
    report.add(
        Row(
            "download through gunicorn",
            mb / best["seconds"],
            "MB/s",
            limit=mb / disk_s,
            limit_name="disk read",
            note=f"{mb:.1f} MB in {best['seconds']:.2f} s; disk read {disk_s:.3f} s (page cache)",
        )
    )
    report.add(
        Row(
            "download: serving process peak RSS growth",
            growth,
            "MB",
            target=f"< {DOWNLOAD_GROWTH_TARGET_MB} MB",
            passed=growth < DOWNLOAD_GROWTH_TARGET_MB,
            note="VmHWM reset before each download, minus VmRSS before; worst of two downloads",
        )
    )
    report.details["download"] = {"path": path, "runs": runs, "disk_read_s": disk_s, "bytes": size}


def extra_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tokens", type=int, default=None, help="tokens in the delivery")


def main() -> None:
    args = parse_args("A 10,000,000-token delivery end to end, and its download", extra_args)
    tokens = args.tokens or (2_000 if args.smoke else 10_000_000)
    report = Report("token_file", smoke=args.smoke)
    report.details["tokens"] = tokens
    with bench_environment("token") as bench:
        fixtures = create_fixtures(tokens=tokens)
        limit = measure_limit(fixtures, tokens=tokens, out_dir=bench.private_root)
        report.details["limit"] = limit
        print(
            f"  limit: generate {limit['generate_s']:.2f} s, COPY in {limit['copy_in_s']:.2f} s,"
            f" COPY out {limit['copy_out_s']:.2f} s"
        )
        if not generation_landed():
            report.add(Row("limit: Python generation + COPY in + COPY out", limit["total_s"], "s"))
            report.add(
                Row(
                    f"{tokens:,}-token delivery end to end",
                    None,
                    "",
                    note="not measured: tokens/generation.py is still the placeholder",
                )
            )
        else:
            project = run_project(
                bench,
                fixtures,
                tokens=tokens,
                profile=args.profile,
                report=report,
                limit_s=limit["total_s"],
            )
            tf = project.pop("token_file")
            # The .xlsx limit again, right after the job: on a shared machine the load moves
            # within minutes, and the job's .xlsx phase lies between the two measurements.
            order = fixtures["order"]
            after = xlsx_from_memory(
                cells=(order.number, tf.delivery.number, fixtures["product"].product_id),
                tokens=tokens,
                out_dir=bench.private_root,
            )["seconds"]
            limit["xlsx_before_s"], limit["xlsx_after_s"] = limit["xlsx_s"], after
            limit["xlsx_s"] = (limit["xlsx_before_s"] + after) / 2
            limit["total_s"] += limit["xlsx_s"] - limit["xlsx_before_s"]
            sha256, size, local = check_file(tf, tokens=tokens)
            workbooks = check_workbooks(tf, local, tokens=tokens)
            report.details["project"] = project | {
                "csv_bytes": size,
                "sha256": sha256,
                "xlsx": workbooks,
            }
            end_to_end = project["end_to_end_s"]
            report.add(
                Row(
                    f"{tokens:,}-token delivery, take to file READY",
                    end_to_end,
                    "s",
                    limit=limit["total_s"],
                    limit_name="s gen+COPY in+out+xlsx",
                    target=f"<= {RATIO_TARGET}x the limit",
                    passed=end_to_end / limit["total_s"] <= RATIO_TARGET,
                    note="measured while py-spy sampled the worker" if args.profile else "",
                )
            )
            for label, key in (
                ("  phase: take delivery (service, commit, enqueue)", "take_s"),
                ("  phase: in the queue (enqueued to started)", "queue_wait_s"),
                ("  phase: the job (started to finished)", "job_s"),
                ("    job, its log: tokens made and COPYed in", "job_tokens_s"),
                ("    job, its log: CSV written", "job_csv_s"),
            ):
                report.add(Row(label, project[key], "s"))
            parts = workbooks["parts"]
            report.add(
                Row(
                    "    job, its log: .xlsx written",
                    project["job_xlsx_s"],
                    "s",
                    limit=limit["xlsx_s"],
                    limit_name="s xlsxwriter from memory",
                    note=f"{len(parts)} part(s) of {', '.join(f'{p["rows"]:,}' for p in parts)}"
                    " rows; read back with calamine, equal to the CSV row for row",
                )
            )
            report.add(Row("    job, its log: commit", project["job_commit_s"], "s"))
            for label, key in (
                ("  limit phase: Python generation", "generate_s"),
                ("  limit phase: COPY into tokens_token", "copy_in_s"),
                ("  limit phase: commit (WAL flush)", "commit_s"),
                ("  limit phase: COPY out to CSV", "copy_out_s"),
                ("  limit phase: .xlsx written from memory, mean of before and after", "xlsx_s"),
                ("    before the job", "xlsx_before_s"),
                ("    after the job", "xlsx_after_s"),
            ):
                report.add(Row(label, limit[key], "s"))
            report.add(
                Row(
                    "Celery worker peak RSS (the pool process)",
                    project["worker_peak_rss_mb"],
                    "MB",
                    target=f"< {WORKER_RSS_TARGET_MB} MB",
                    passed=project["worker_peak_rss_mb"] < WORKER_RSS_TARGET_MB,
                )
            )
            measure_download(bench, fixtures["order"].number, sha256, size, local, report)
    report.finish()
    for name in list(report.details.get("profiles", {})):
        print_profile(report, name)


if __name__ == "__main__":
    main()
