"""Benchmark 2: pages and Take delivery over HTTP, against a bare view in the same run.

gunicorn runs the production settings (``bench.settings``: prod plus a bare view) with the
Dockerfile's worker count on a free loopback port; wrk loads it with 16 connections:

- the bare view (``/bench/bare/``: one query, no session, no template): the limit;
- the Purchase Order page of a manufacturer with 10,000 orders (first page, logged in);
- the New delivery list of Token across that manufacturer's orders;
- Take delivery POSTs on one order, each with a new idempotency key (when the page has a form);
- beside them, the API's order list (first page of 25, bearer key) and API takes on the same
  order (JSON, a new Idempotency-Key each), in the same rounds.

Targets: each page at least 0.3 of the bare view's rate, p99 under 100 ms, no errors, and the
invariant holds after the POSTs (every request made exactly one delivery).

    python -m bench.web [--smoke] [--profile] [--workers N]
"""

from __future__ import annotations

import argparse
import html.parser
import urllib.parse
import uuid
from typing import Any

from django.utils import timezone

from bench.harness import (
    BENCH_PASSWORD,
    BENCH_USERNAME,
    BenchEnv,
    BenchFailure,
    Report,
    Row,
    Server,
    WrkResult,
    analyze_tables,
    bench_environment,
    collectstatic,
    create_manufacturer,
    gunicorn,
    http_get,
    http_login,
    median_round,
    parse_args,
    print_profile,
    py_spy,
    run_wrk,
)
from bench.take_delivery import check_invariant

CONNECTIONS = 16
API_LIST = "API order list (25 a page)"
API_TAKE = "API take POST"
RATE_TARGET = 0.3
P99_TARGET_MS = 100.0


def create_fixtures(*, orders: int, deliveries: int) -> dict[str, Any]:
    """A manufacturer with ``orders`` orders (two products each, delivered), ``deliveries`` of
    them with one new delivery and its ready token file, and a hot order for the POSTs."""
    from deliveries.models import NewDelivery
    from orders.models import OriginalDelivery, PurchaseOrder
    from tokens.models import TokenFile

    maker, user, products = create_manufacturer(products=20)
    rows = []
    for i in range(orders):
        taken = 100 if i < deliveries else 0
        rows.append(
            PurchaseOrder(
                number=f"PO-{i:06d}",
                contract_number=f"CT-{i:06d}",
                manufacturer=maker,
                order_type=PurchaseOrder.OrderType.LICENSE,
                quantity_ordered=5000,
                quantity_delivered=1000 * (1 + i % 5),
                new_tokens_delivered=taken,
                status=PurchaseOrder.Status.PARTIALLY_DELIVERED,
            )
        )
    rows.append(
        PurchaseOrder(
            number="HOT-0001",
            manufacturer=maker,
            order_type=PurchaseOrder.OrderType.LICENSE,
            quantity_ordered=2_000_000_000,
            quantity_delivered=2_000_000_000,
            status=PurchaseOrder.Status.DELIVERED,
        )
    )
    created = PurchaseOrder.objects.bulk_create(rows, batch_size=2000)
    OriginalDelivery.objects.bulk_create(
        (OriginalDelivery(order=o, quantity=o.quantity_delivered) for o in created), batch_size=2000
    )
    through = PurchaseOrder.products.through
    through.objects.bulk_create(
        (
            through(purchaseorder_id=o.pk, product_id=products[(n + k) % len(products)].pk)
            for n, o in enumerate(created)
            for k in range(2)
        ),
        batch_size=5000,
    )
    new = NewDelivery.objects.bulk_create(
        (
            NewDelivery(
                order=o,
                sequence=1,
                product_id=products[n % len(products)].pk,
                quantity=100,
                taken_by=user,
                idempotency_key=uuid.uuid4(),
            )
            for n, o in enumerate(created[:deliveries])
        ),
        batch_size=2000,
    )
    TokenFile.objects.bulk_create(
        (
            TokenFile(
                delivery=d,
                status=TokenFile.Status.READY,
                total=100,
                done=100,
                row_count=100,
                size_bytes=6000,
                sha256="0" * 64,
                storage_name=f"bench/{d.pk}.csv",
                finished_at=timezone.now(),
            )
            for d in new
        ),
        batch_size=2000,
    )
    analyze_tables()
    from api.services import api_key_create

    hot = created[-1]
    api_key = api_key_create(user=user, name="bench", scopes=["read", "take"]).plaintext
    hot_product = hot.products.order_by("pk").values_list("product_id", flat=True)[0]
    return {
        "hot_order": hot,
        "product_ids": [p.pk for p in products],
        "api_key": api_key,
        "api_take_body": f'{{"product_id": "{hot_product}", "quantity": 1}}',
    }


class FormParser(html.parser.HTMLParser):
    """The fields of the page's POST forms: inputs with their values, selects with their first
    non-empty option."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {
                    "method": a.get("method", "get").lower(),
                    "action": a.get("action", ""),
                    "fields": {},
                }
            )
        elif not self.forms:
            return
        elif tag == "input" and a.get("name") and a.get("type") not in {"submit", "button"}:
            if a.get("type") in {"radio", "checkbox"} and "checked" not in a:
                self.forms[-1]["fields"].setdefault(a["name"], a.get("value", ""))
            else:
                self.forms[-1]["fields"][a["name"]] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif tag == "option" and self._select and a.get("value"):
            self.forms[-1]["fields"].setdefault(self._select, a["value"])
        elif tag == "button" and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def take_delivery_form(base_url: str, path: str, cookie: str) -> tuple[str, str] | None:
    """The Take delivery form of the page as (action path, body with ``{key}`` for the
    idempotency key and quantity 1), or None when the page has no such form yet."""
    status, body = http_get(base_url, path, cookie)
    if status != 200:
        return None
    parser = FormParser()
    parser.feed(body.decode())
    for form in parser.forms:
        fields = form["fields"]
        if form["method"] != "post" or "csrfmiddlewaretoken" not in fields:
            continue
        key_fields = [name for name, value in fields.items() if is_uuid(value)]
        quantity_fields = [name for name in fields if "quantity" in name]
        if not key_fields or not quantity_fields:
            continue
        fields = {**fields, key_fields[0]: "{key}", quantity_fields[0]: "1"}
        encoded = urllib.parse.urlencode(fields).replace("%7Bkey%7D", "{key}")
        action = form["action"] or path
        return urllib.parse.urljoin(path, action), encoded
    return None


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def add_page_rows(report: Report, name: str, result: WrkResult, bare: WrkResult) -> None:
    report.add(
        Row(
            f"{name}: rate (median round)",
            result.rate,
            "req/s",
            limit=bare.rate,
            limit_name="bare view",
            target=f">= {RATE_TARGET} of bare",
            passed=result.rate / bare.rate >= RATE_TARGET if bare.rate else None,
        )
    )
    report.add(
        Row(
            f"{name}: p99 latency",
            result.p99_ms if result.requests else None,
            "ms",
            target=f"< {P99_TARGET_MS:.0f} ms",
            passed=bool(result.requests) and result.p99_ms < P99_TARGET_MS,
            note="" if result.requests else "no request finished within the run",
        )
    )
    report.add(Row(f"{name}: errors", result.errors, "", target="0", passed=result.errors == 0))
    if result.errors:
        report.fail(f"{name}: {result.errors} errors ({result.status_errors} non-2xx/3xx)")


def add_exactness_row(report: Report, name: str, made: int, sent: int, rounds: int) -> None:
    """Every completed take request made exactly one delivery."""
    # wrk stops with up to one request per connection in flight, which may still land.
    exact = sent <= made <= sent + CONNECTIONS * rounds
    report.add(
        Row(
            f"{name}: deliveries made per request",
            made / sent if sent else None,
            "",
            target="1 each",
            passed=exact,
            note=f"{made} deliveries for {sent} completed requests",
        )
    )
    if not exact:
        report.fail(f"{name}: {made} deliveries for {sent} requests")


def extra_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (Dockerfile: 3)")


def profile_runs(
    server: Server,
    pages: dict[str, str],
    form: tuple[str, str] | None,
    *,
    cookie: str,
    csrf: str,
    seconds: float,
    report: Report,
) -> None:
    """One extra wrk run of each page under py-spy, kept out of the figures (sampling slows the
    workers down)."""
    for path in pages.values():
        name = f"gunicorn-{path.strip('/').replace('/', '-')}"
        with py_spy(server.proc.pid, name, enabled=True, report=report):
            run_wrk(server.base_url + path, seconds=seconds, cookie=cookie)
    if form is not None:
        action, body = form
        with py_spy(server.proc.pid, "gunicorn-take-delivery", enabled=True, report=report):
            run_wrk(
                server.base_url + action,
                seconds=seconds,
                cookie=cookie,
                method="POST",
                body=body,
                csrf=csrf,
                run_id=0,
            )


def run(bench: BenchEnv, report: Report, *, smoke: bool, profile: bool, workers: int) -> None:
    from deliveries.models import NewDelivery

    # Short rounds, each page right after the bare view: the ratio of the median round is
    # reported (the machine is shared: a round's two sides share its mood, rounds do not).
    seconds = 1.0 if smoke else 6.0
    rounds = 1 if smoke else 3
    fixtures = create_fixtures(orders=100 if smoke else 10_000, deliveries=20 if smoke else 500)
    hot = fixtures["hot_order"]
    collectstatic(bench)
    with gunicorn(bench, workers=workers) as server:
        base = server.base_url
        cookie, csrf = http_login(base, BENCH_USERNAME, BENCH_PASSWORD)
        pages = {
            "Purchase Order page (10,000 orders)"
            if not smoke
            else "Purchase Order page": "/purchase/orders/",
            "New delivery list of Token": "/purchase/new-deliveries/",
        }
        for name, path in pages.items():
            status, body = http_get(base, path, cookie)
            if status != 200:
                raise BenchFailure(f"{name} answered {status}")
            report.details.setdefault("page_bytes", {})[name] = len(body)
        form_path = f"/purchase/orders/{hot.number}/new-delivery/"
        form = take_delivery_form(base, form_path, cookie)
        results: dict[str, list[WrkResult]] = {
            "bare": [],
            **{n: [] for n in pages},
            "post": [],
            API_LIST: [],
            API_TAKE: [],
        }
        posts_made = posts_sent = api_made = api_sent = 0
        auth = f"Bearer {fixtures['api_key']}"
        status, _body = http_get(base, "/api/v1/orders?limit=25", "", authorization=auth)
        if status != 200:
            raise BenchFailure(f"API order list answered {status}")
        if profile:
            profile_runs(
                server, pages, form, cookie=cookie, csrf=csrf, seconds=seconds, report=report
            )
        for round_no in range(rounds):
            results["bare"].append(
                run_wrk(base + "/bench/bare/", seconds=seconds, connections=CONNECTIONS)
            )
            for name, path in pages.items():
                results[name].append(
                    run_wrk(base + path, seconds=seconds, connections=CONNECTIONS, cookie=cookie)
                )
            if form is not None:
                action, body = form
                before = NewDelivery.objects.filter(order=hot).count()
                post = run_wrk(
                    base + action,
                    seconds=seconds,
                    connections=CONNECTIONS,
                    cookie=cookie,
                    method="POST",
                    body=body,
                    csrf=csrf,
                    run_id=round_no + 1,
                )
                results["post"].append(post)
                posts_sent += post.requests
                posts_made += NewDelivery.objects.filter(order=hot).count() - before
            results[API_LIST].append(
                run_wrk(
                    base + "/api/v1/orders?limit=25",
                    seconds=seconds,
                    connections=CONNECTIONS,
                    authorization=auth,
                )
            )
            before = NewDelivery.objects.filter(order=hot).count()
            api_take = run_wrk(
                base + f"/api/v1/orders/{hot.number}/deliveries",
                seconds=seconds,
                connections=CONNECTIONS,
                method="POST",
                body=fixtures["api_take_body"],
                run_id=100 + round_no,
                authorization=auth,
                content_type="application/json",
            )
            results[API_TAKE].append(api_take)
            api_sent += api_take.requests
            api_made += NewDelivery.objects.filter(order=hot).count() - before
            for name, found in results.items():
                if found and len(found) > round_no:
                    print(
                        f"  round {round_no + 1}: {name} {found[-1].rate:,.0f} req/s,"
                        f" p99 {found[-1].p99_ms:.1f} ms"
                    )
        best_bare = max(results["bare"], key=lambda r: r.rate)
        report.add(Row("bare view (one query): best rate", best_bare.rate, "req/s"))
        report.add(Row("bare view: p99 latency of that round", best_bare.p99_ms, "ms"))

        def add_median_round(name: str, found: list[WrkResult]) -> None:
            page, bare = median_round(
                list(zip(found, results["bare"], strict=True)), lambda r: r.rate
            )
            add_page_rows(report, name, page, bare)

        for name in pages:
            add_median_round(name, results[name])
        if form is None:
            report.add(
                Row(
                    "Take delivery POST",
                    None,
                    "",
                    note=f"not measured: {form_path} has no Take delivery form yet",
                )
            )
        else:
            add_median_round("Take delivery POST", results["post"])
            add_exactness_row(report, "Take delivery POST", posts_made, posts_sent, rounds)
        add_median_round(API_LIST, results[API_LIST])
        add_median_round(API_TAKE, results[API_TAKE])
        add_exactness_row(report, API_TAKE, api_made, api_sent, rounds)
        check_invariant(report)
        report.details["gunicorn_workers"] = workers
        report.details["connections"] = CONNECTIONS
        report.details["seconds_per_run"] = seconds
        report.details["runs"] = {
            name: [vars(r) | {"rate": r.rate} for r in found] for name, found in results.items()
        }


def main() -> None:
    args = parse_args("Pages and Take delivery over HTTP against a bare view", extra_args)
    report = Report("web", smoke=args.smoke)
    with bench_environment("web") as bench:
        run(
            bench,
            report,
            smoke=args.smoke,
            profile=args.profile,
            workers=args.workers,
        )
    report.finish()
    for name in list(report.details.get("profiles", {})):
        print_profile(report, name)


if __name__ == "__main__":
    main()
