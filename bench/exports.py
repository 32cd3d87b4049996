"""Benchmark: a list exported as CSV and .xlsx holds its memory flat, 100,000 rows as 1,000.

The Purchase Order list of one manufacturer with 100,000 orders (each with a product, a tenth of
them module orders) is exported the way its export view does it (``purchase_order_list`` with
``with_product_names``, read through ``.iterator(chunk_size=EXPORT_CHUNK_ROWS)`` into
``refurb_portal.exports.export_response``), the CSV's stream and the .xlsx's file read to the
end. For each format:

- the peak of Python's allocations while the export runs (``tracemalloc``), beside the limit: the
  same export of the first 5,000 rows (two and a half chunks), measured in the same run.
  Constant memory means the ratio stays near 1; target at most 1.5x (a chunk of rows and
  xlsxwriter's row buffer are the same size for both);
- the time, beside a limit: for CSV, reading the same rows as plain tuples (``values_list``)
  through the same server-side cursor and writing them with the standard ``csv`` module; for
  .xlsx, xlsxwriter alone writing as many rows of the same cells from memory. Reported, no
  target (the export reads related rows and formats each cell).

    python -m bench.exports [--smoke] [--rows N]
"""

from __future__ import annotations

import argparse
import csv
import io
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


def create_orders(maker: Any, products: list[Any], *, rows: int) -> None:
    """``rows`` orders of ``maker``, each with one product; every tenth a module order."""
    from orders.models import Module, PurchaseOrder

    module = Module.objects.create(code="WB3S")
    batch = 10_000
    for start in range(0, rows, batch):
        orders = PurchaseOrder.objects.bulk_create(
            PurchaseOrder(
                manufacturer=maker,
                number=f"BENCH-{n:07d}",
                contract_number=f"CT-{n:07d}",
                order_type="module" if n % 10 == 0 else "license",
                module=module if n % 10 == 0 else None,
                quantity_ordered=1_000 + n % 997,
            )
            for n in range(start, min(start + batch, rows))
        )
        PurchaseOrder.products.through.objects.bulk_create(
            PurchaseOrder.products.through(purchaseorder_id=order.pk, product_id=product.pk)
            for order, product in zip(orders, products * (batch // len(products) + 1), strict=False)
        )
    analyze_tables()


def export_bytes(maker: Any, *, file_format: str, rows: int) -> tuple[int, int]:
    """Run the export of the first ``rows`` orders (newest first) to the end; return its size
    in bytes and the rows it held."""
    from orders.exports import PURCHASE_ORDER_COLUMNS
    from orders.selectors import purchase_order_list, with_product_names
    from refurb_portal.exports import EXPORT_CHUNK_ROWS, export_response

    orders = with_product_names(purchase_order_list(manufacturer=maker))[:rows]
    response = export_response(
        rows=orders.iterator(chunk_size=EXPORT_CHUNK_ROWS),
        columns=PURCHASE_ORDER_COLUMNS,
        file_format=file_format,
        filename="bench",
    )
    size = 0
    for block in response.streaming_content:  # type: ignore[attr-defined]
        size += len(block)
    response.close()
    return size, rows


def plain_csv(maker: Any, *, rows: int) -> int:
    """The time limit: the same rows as tuples, written by the csv module into memory that is
    thrown away chunk by chunk."""
    from orders.models import PurchaseOrder
    from refurb_portal.exports import EXPORT_CHUNK_ROWS

    values = (
        PurchaseOrder.objects.filter(manufacturer=maker)
        .order_by("-created_at", "-id")
        .values_list(
            "number",
            "contract_number",
            "order_type",
            "quantity_ordered",
            "quantity_delivered",
            "new_tokens_delivered",
            "status",
            "created_at",
        )[:rows]
    )
    size = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for n, row in enumerate(values.iterator(chunk_size=EXPORT_CHUNK_ROWS), 1):
        writer.writerow(row)
        if n % EXPORT_CHUNK_ROWS == 0:
            size += buffer.tell()
            buffer.seek(0)
            buffer.truncate()
    return size + buffer.tell()


def xlsx_from_memory(*, rows: int) -> None:
    """The .xlsx time limit: xlsxwriter (the exports' options) writing as many rows of the same
    eleven cells, held in memory, into a temporary file."""
    import datetime as dt
    import tempfile

    import xlsxwriter

    from refurb_portal.exports import xlsx_workbook_options

    cells = ("BENCH-0000001", "CT-0000001", "Module order", "WB3S", "Bench product 1 (b1)")
    numbers = (1_000, 0, 0, 0)
    tail = ("Awaiting delivery", dt.datetime.now(dt.UTC).isoformat(sep=" ", timespec="seconds"))
    with tempfile.TemporaryFile() as out:
        workbook = xlsxwriter.Workbook(out, xlsx_workbook_options())
        sheet = workbook.add_worksheet()
        for row in range(1, rows + 1):
            for column, text in enumerate(cells):
                sheet.write_string(row, column, text)
            for column, number in enumerate(numbers, start=len(cells)):
                sheet.write_number(row, column, number)
            for column, text in enumerate(tail, start=len(cells) + len(numbers)):
                sheet.write_string(row, column, text)
        workbook.close()


def extra_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=None, help="orders in the export")


def main() -> None:
    args = parse_args("A 100,000-row list exported as CSV and .xlsx in flat memory", extra_args)
    rows = args.rows or (SMOKE_ROWS if args.smoke else FULL_ROWS)
    limit_rows = min(LIMIT_ROWS, rows // 3)
    report = Report("exports", smoke=args.smoke)
    report.details.update(rows=rows, limit_rows=limit_rows)
    with bench_environment("exports"):
        maker, _user, products = create_manufacturer(products=50)
        create_orders(maker, products, rows=rows)
        for file_format in ("csv", "xlsx"):
            # Once unmeasured, so that imports and caches are not counted in the first figure.
            export_bytes(maker, file_format=file_format, rows=limit_rows)
            small = peak_mb(
                lambda f=file_format: export_bytes(maker, file_format=f, rows=limit_rows)
            )
            large = peak_mb(lambda f=file_format: export_bytes(maker, file_format=f, rows=rows))
            report.add(
                Row(
                    f"{file_format}: peak Python memory, {rows:,} rows",
                    large,
                    "MB",
                    limit=small,
                    limit_name=f"MB for {limit_rows:,} rows",
                    target=f"<= {MEMORY_RATIO_TARGET}x the limit",
                    passed=large / small <= MEMORY_RATIO_TARGET if small else None,
                )
            )
            seconds = timed(lambda f=file_format: export_bytes(maker, file_format=f, rows=rows))
            if file_format == "csv":
                limit, limit_name = timed(lambda: plain_csv(maker, rows=rows)), "s values_list+csv"
            else:
                limit, limit_name = timed(lambda: xlsx_from_memory(rows=rows)), "s xlsxwriter alone"
            report.add(
                Row(
                    f"{file_format}: export of {rows:,} rows",
                    seconds,
                    "s",
                    limit=limit,
                    limit_name=limit_name,
                    note="reported, no target: related rows are read and every cell formatted",
                )
            )
        size, _ = export_bytes(maker, file_format="csv", rows=rows)
        report.details["csv_bytes"] = size
    if not args.smoke:
        failed = [row.name for row in report.rows if row.passed is False]
        for name in failed:
            report.fail(f"{name}: over its target")
    report.finish()


if __name__ == "__main__":
    main()
