"""What every benchmark needs, all on loopback: a PostgreSQL database of its own (created and
dropped), the production settings in this process and in the servers it starts (gunicorn, a
Celery worker), wrk and pgbench runs, process memory from /proc, py-spy profiles, and the table
and JSON of its figures.

Machines like ours are noisy and shared, so every figure is printed beside a limit measured in
the same run, and the ratio is what a target is about.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Same id as the settings' CHECKOUT_ID: two clones on one machine never share a database or queue.
CHECKOUT_ID = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
ADMIN_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL",
    os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
)
# A Redis database apart from the tests' (11); only this run's own keys are ever deleted.
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
RESULTS_DIR = ROOT / "bench" / "results"
SMOKE_RESULTS_DIR = ROOT / "var" / "bench-smoke"
LUA_SCRIPT = ROOT / "bench" / "wrk" / "portal.lua"


class BenchFailure(Exception):
    """A correctness check failed (an invariant, errors): the run exits non-zero."""


# --- Command line -----------------------------------------------------------------------------


def parse_args(
    description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check it still runs")
    parser.add_argument(
        "--profile", action="store_true", help="record a py-spy profile of the project's runs"
    )
    if extra:
        extra(parser)
    # A stopped run still drops its database and stops its servers (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return parser.parse_args()


def median_round[T](rounds: list[tuple[T, T]], rate: Callable[[T], float]) -> tuple[T, T]:
    """The (project, limit) pair of the round whose ratio is the median one.

    The two sides of a round run back to back, so they share the machine's mood of that moment;
    the median round's ratio is the one that the noise of the other rounds moves least."""
    ordered = sorted(rounds, key=lambda pair: rate(pair[0]) / max(rate(pair[1]), 1e-9))
    return ordered[(len(ordered) - 1) // 2]


# --- Figures, the table and the JSON -----------------------------------------------------------


@dataclass
class Row:
    """One measured figure beside its limit. ``higher_is_better`` decides how the ratio reads."""

    name: str
    value: float | None
    unit: str
    limit: float | None = None
    limit_name: str = ""
    target: str = ""
    passed: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.limit:
            return None
        return self.value / self.limit


@dataclass
class Report:
    benchmark: str
    smoke: bool
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    started_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def fail(self, message: str) -> None:
        self.failures.append(message)

    def print_table(self) -> None:
        title = f"{self.benchmark} at commit {git_commit()}"
        title += " (smoke sizes: ratios mean nothing)" if self.smoke else ""
        header = ("figure", "value", "limit", "ratio", "target", "")
        lines = [header]
        for row in self.rows:
            limit = f"{fmt(row.limit)} {row.limit_name}".strip() if row.limit is not None else ""
            ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
            verdict = {True: "met", False: "MISSED", None: ""}[row.passed]
            lines.append(
                (
                    row.name,
                    f"{fmt(row.value)} {row.unit}".strip(),
                    limit,
                    ratio,
                    row.target,
                    verdict,
                )
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        print(f"\n== {title}, measured on commit {git_commit()}")
        for index, line in enumerate(lines):
            print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
            if index == 0:
                print("  ".join("-" * w for w in widths))
        for row in self.rows:
            if row.note:
                print(f"  * {row.name}: {row.note}")
        for failure in self.failures:
            print(f"  ! FAILED: {failure}")

    def write(self) -> Path:
        folder = SMOKE_RESULTS_DIR if self.smoke else RESULTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.benchmark}.json"
        data = {
            "benchmark": self.benchmark,
            "size": "smoke" if self.smoke else "full",
            "started_at": self.started_at,
            "command": " ".join(["python -m", f"bench.{Path(sys.argv[0]).stem}", *sys.argv[1:]]),
            "machine": machine_info(),
            "rows": [{**asdict(row), "ratio": row.ratio} for row in self.rows],
            "failures": self.failures,
            "details": self.details,
        }
        path.write_text(json.dumps(data, indent=2, default=str) + "\n")
        print(f"  figures written to {path.relative_to(ROOT)}")
        return path

    def finish(self) -> None:
        self.print_table()
        self.write()
        if self.failures:
            raise SystemExit(1)


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def git_commit() -> str:
    """The commit measured on, ``+uncommitted`` when tracked files (other than the figures
    themselves, bench/results/) differ from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()

    changed = [
        line
        for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
        if not line[3:].startswith("bench/results/")
    ]
    return git("rev-parse", "--short", "HEAD") + ("+uncommitted" if changed else "")


def machine_info() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = git_commit()
    with psycopg.connect(ADMIN_DATABASE_URL) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "postgresql": row[0] if row else "",
        "git_commit": commit,
    }


# --- The environment: database, broker queue, settings -----------------------------------------


@dataclass
class BenchEnv:
    name: str
    db_name: str
    db_url: str
    redis_url: str
    queue: str
    private_root: Path
    env: dict[str, str]


def _admin_execute(sql: str) -> None:
    with psycopg.connect(ADMIN_DATABASE_URL, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def database_url_for(db_name: str) -> str:
    parts = urllib.parse.urlsplit(ADMIN_DATABASE_URL)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{db_name}"))


@contextlib.contextmanager
def bench_environment(name: str) -> Iterator[BenchEnv]:
    """A database ``bench_<name>_<checkout>`` migrated from scratch, this process configured with
    the production settings against it, and everything dropped afterwards (even on failure)."""
    db_name = f"bench_{name}_{CHECKOUT_ID}"
    db_url = database_url_for(db_name)
    queue = f"bench-{name}-{CHECKOUT_ID}"
    private_root = ROOT / "var" / f"bench-private-{name}"
    shutil.rmtree(private_root, ignore_errors=True)
    private_root.mkdir(parents=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": db_url,
        "REDIS_URL": BENCH_REDIS_URL,
        "CELERY_QUEUE": queue,
        "PRIVATE_STORAGE_ROOT": str(private_root),
        "LOG_LEVEL": "WARNING",
        # The abuse limits (per user and per manufacturer) would answer a load test with
        # refusals; they stay in the path, only their ceilings are lifted.
        "RATE_LIMIT_TAKES_PER_MINUTE": str(10**9),
        "RATE_LIMIT_TAKES_PER_USER_PER_MINUTE": str(10**9),
        "RATE_LIMIT_DOWNLOADS_PER_MINUTE": str(10**9),
        "API_RATE_LIMIT_PER_MINUTE": str(10**9),
        "RATE_LIMIT_DOWNLOADS_PER_USER_PER_MINUTE": str(10**9),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    # A run that crashed may have left its own database behind; no other is ever dropped.
    _admin_execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    _admin_execute(f'CREATE DATABASE "{db_name}"')
    os.environ.update(env)
    try:
        subprocess.run(
            [str(BIN / "python"), "manage.py", "migrate", "--no-input", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        import django

        django.setup()
        yield BenchEnv(name, db_name, db_url, BENCH_REDIS_URL, queue, private_root, env)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        purge_queue(queue)
        _admin_execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        shutil.rmtree(private_root, ignore_errors=True)


def purge_queue(queue: str) -> None:
    """Delete this run's queue and kombu's bindings for it; nothing else in Redis is touched."""
    client = redis.Redis.from_url(BENCH_REDIS_URL)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    client.close()


def queue_length(queue: str) -> int:
    client = redis.Redis.from_url(BENCH_REDIS_URL)
    try:
        return int(client.llen(queue))  # type: ignore[arg-type]
    finally:
        client.close()


# --- Data ------------------------------------------------------------------------------------

BENCH_USERNAME = "bench"
BENCH_PASSWORD = "bench-pass-2026"


def create_manufacturer(
    *, products: int, username: str = BENCH_USERNAME
) -> tuple[Any, Any, list[Any]]:
    """A benchmark's manufacturer, its user (``username``, password ``BENCH_PASSWORD``) and
    ``products`` products."""
    from accounts.models import Manufacturer, User
    from orders.models import Product, ProductCategory

    maker = Manufacturer.objects.create(name=f"Bench Devices ({username})")
    # The company's administrator: the web bench also makes API keys (administrators only).
    user = User.objects.create_user(
        username=username,
        password=BENCH_PASSWORD,
        manufacturer=maker,
        role=User.Role.ADMINISTRATOR,
    )
    category = ProductCategory.objects.create(name=f"Bench category ({username})")
    made = Product.objects.bulk_create(
        Product(
            product_id=f"{username.replace('-', '')[:12]}{i:011d}",
            name=f"Bench product {i}",
            category=category,
            manufacturer=maker,
        )
        for i in range(products)
    )
    return maker, user, made


def fill_history(
    *,
    manufacturer_id: int,
    user_id: int,
    product_ids: list[int],
    orders: int,
    deliveries: int,
    prefix: str = "H",
    bulk_load: bool = False,
) -> None:
    """Give a manufacturer a history fast: ``orders`` delivered license orders (one product
    each, a minute apart, the newest now) and ``deliveries`` new deliveries of 10 tokens
    spread over them round-robin (an order's sequence 1, 2, ...), each with a READY token file.

    One ``INSERT ... SELECT generate_series`` a table, so that 100,000 orders and 2,000,000
    deliveries take a minute rather than an hour of ``bulk_create``. The rows keep the
    invariant (an order's ``new_tokens_delivered`` is the sum of its deliveries). Order numbers
    are ``{prefix}-0000001``...; call ``analyze_tables`` afterwards.

    ``bulk_load``: skip the triggers and foreign-key checks of these inserts, as a bulk load
    does (``session_replication_role = replica``; a superuser's connection: the benchmarks').
    The rows are right by construction; without it, each new delivery queues a check that runs
    at commit (``new_delivery_product_same_owner``), a query a row.
    """
    from django.db import connection, transaction

    from deliveries.models import NewDelivery
    from orders.models import PurchaseOrder
    from tokens.models import TokenFile

    po = PurchaseOrder._meta.db_table
    through = PurchaseOrder.products.through._meta.db_table
    new = NewDelivery._meta.db_table
    files = TokenFile._meta.db_table
    per, extra = divmod(deliveries, orders)
    products = len(product_ids)
    with transaction.atomic(), connection.cursor() as cursor:
        if bulk_load:
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            f"INSERT INTO {po} (number, contract_number, manufacturer_id, order_type, "  # noqa: S608
            "quantity_ordered, quantity_delivered, new_tokens_delivered, status, created_at) "
            "SELECT %s || '-' || lpad(i::text, 7, '0'), '', %s, 'license', 1000000, 1000000, "
            "10 * (%s + (i <= %s)::int), 'partial', now() - (%s - i) * interval '1 minute' "
            "FROM generate_series(1, %s) AS i",
            [prefix, manufacturer_id, per, extra, orders, orders],
        )
        # The orders just made, numbered 1..orders in order of creation.
        made = (
            f"SELECT id, row_number() OVER (ORDER BY created_at, id) AS i, created_at "  # noqa: S608
            f"FROM {po} WHERE manufacturer_id = %s AND number LIKE %s"
        )
        cursor.execute(
            f"INSERT INTO {through} (purchaseorder_id, product_id) "  # noqa: S608
            f"SELECT o.id, (%s::bigint[])[1 + o.i %% %s] FROM ({made}) AS o",
            [product_ids, products, manufacturer_id, f"{prefix}-%"],
        )
        # Delivery j (0-based) goes to order 1 + j % orders as its sequence 1 + j / orders.
        cursor.execute(
            f"INSERT INTO {new} (order_id, sequence, product_id, quantity, taken_by_id, "  # noqa: S608
            "taken_at, idempotency_key, void_reason) "
            "SELECT o.id, 1 + j / %s, (%s::bigint[])[1 + o.i %% %s], 10, %s, "
            "o.created_at + (1 + j / %s) * interval '1 second', md5(%s || j::text)::uuid, '' "
            f"FROM generate_series(0, %s) AS j JOIN ({made}) AS o ON o.i = 1 + j %% %s",
            [
                orders,
                product_ids,
                products,
                user_id,
                orders,
                prefix,
                deliveries - 1,
                manufacturer_id,
                f"{prefix}-%",
                orders,
            ],
        )
        cursor.execute(
            f"INSERT INTO {files} (delivery_id, status, total, done, attempts, error, "  # noqa: S608
            "created_at, finished_at, storage_name, size_bytes, row_count, sha256) "
            "SELECT d.id, 'ready', 10, 10, 1, '', d.taken_at, d.taken_at, "
            "'history/' || d.id || '.csv', 600, 10, repeat('0', 64) "
            f"FROM {new} AS d JOIN {po} AS o ON o.id = d.order_id "
            "WHERE o.manufacturer_id = %s AND o.number LIKE %s",
            [manufacturer_id, f"{prefix}-%"],
        )


def analyze_tables() -> None:
    """Fixtures arrive in bulk, faster than autovacuum notices: without fresh statistics the
    planner would sort 10,000 orders instead of reading 25 from the index, as no steady-state
    production database would."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- Processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_process(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        # Its own session, so that stopping it also stops the children it forked (and only them).
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    # Children still alive in its process group (a worker in the middle of a job) end too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def child_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    with contextlib.suppress(OSError):
        return [int(p) for p in children.read_text().split()]
    return []


def proc_status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(key)


def reset_peak_rss(pid: int) -> None:
    """Reset VmHWM (the peak RSS) so that it measures from now on (Linux clear_refs, value 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def log_tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        return child_pids(self.proc.pid)


def collectstatic(bench: BenchEnv) -> None:
    subprocess.run(
        [str(BIN / "python"), "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=bench.env,
        check=True,
    )


@contextlib.contextmanager
def gunicorn(bench: BenchEnv, *, workers: int, extra: list[str] | None = None) -> Iterator[Server]:
    """gunicorn as production runs it (the Dockerfile's command), on a free loopback port."""
    port = free_port()
    log = ROOT / "var" / "bench-logs" / f"{bench.name}-gunicorn.log"
    cmd = [
        str(BIN / "gunicorn"),
        "refurb_portal.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        # gunicorn 27 opens a control socket at one path per user; two servers would share it.
        "--no-control-socket",
        *(extra or []),
    ]
    proc = start_process(cmd, bench.env, log)
    server = Server(proc, port, log)
    try:
        wait_http_ok(server.base_url + "/bench/bare/", proc, log)
        # Every worker should be up (and have imported Django) before the clock starts.
        deadline = time.monotonic() + 20
        while len(server.worker_pids()) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
        yield server
    finally:
        stop_process(proc)


def wait_http_ok(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchFailure(f"server exited early:\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise BenchFailure(f"server did not answer {url} within {timeout} s:\n{log_tail(log)}")


@contextlib.contextmanager
def celery_worker(bench: BenchEnv, *, concurrency: int = 1) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker on this run's own queue, as docker-compose runs it (prefork)."""
    log = ROOT / "var" / "bench-logs" / f"{bench.name}-worker.log"
    cmd = [
        str(BIN / "celery"),
        "-A",
        "refurb_portal",
        "worker",
        "-Q",
        bench.queue,
        "-n",
        f"{bench.queue}-{os.getpid()}@%h",
        f"--concurrency={concurrency}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
    ]
    with running(cmd, bench.env, log, ready="ready.", what="Celery worker") as proc:
        yield proc


@contextlib.contextmanager
def running(
    cmd: list[str], env: dict[str, str], log: Path, *, ready: str, what: str, timeout: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """``cmd`` started, once its log says ``ready``; stopped afterwards (even on failure)."""
    proc = start_process(cmd, env, log)
    try:
        deadline = time.monotonic() + timeout
        while ready not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchFailure(f"{what} did not start:\n{log_tail(log)}")
            time.sleep(0.2)
        yield proc
    finally:
        stop_process(proc, timeout=30)


@contextlib.contextmanager
def token_file_relay(bench: BenchEnv) -> Iterator[None]:
    """The relay as docker-compose runs it, on this run's database and queue."""
    log = ROOT / "var" / "bench-logs" / f"{bench.name}-relay.log"
    cmd = [str(BIN / "python"), "manage.py", "token_file_relay"]
    with running(cmd, bench.env, log, ready="relay ready", what="The relay"):
        yield


# --- Load tools --------------------------------------------------------------------------------


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BenchFailure(f"{name} is missing: make bench installs it (as root) with apt")
    return path


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    errors: int
    status_errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int = 16,
    threads: int = 2,
    cookie: str = "",
    method: str = "GET",
    body: str = "",
    csrf: str = "",
    run_id: int = 0,
    authorization: str = "",
    content_type: str = "application/x-www-form-urlencoded",
) -> WrkResult:
    """wrk with ``bench/wrk/portal.lua``: a session cookie (or an ``Authorization`` header, for
    the API), and for POSTs a body whose ``{key}`` becomes a new idempotency key on every
    request (also sent as ``Idempotency-Key``); its done() prints the figures as JSON."""
    env = {
        **os.environ,
        "WRK_AUTHORIZATION": authorization,
        "WRK_CONTENT_TYPE": content_type,
        "WRK_METHOD": method,
        "WRK_COOKIE": cookie,
        "WRK_BODY": body,
        "WRK_CSRF": csrf,
        "WRK_REFERER": url,
        "WRK_RUN": str(run_id),
    }
    cmd = [
        require_tool("wrk"),
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        url,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^WRK_JSON (\{.*\})$", out, re.MULTILINE)
    if not match:
        raise BenchFailure(f"wrk printed no figures:\n{out}")
    data = json.loads(match.group(1))
    socket_errors = sum(data[k] for k in ("connect", "read", "write", "timeout"))
    return WrkResult(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        errors=socket_errors + data["status"],
        status_errors=data["status"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


def run_pgbench(
    db_name: str, script: Path, *, clients: int, seconds: float, variables: dict[str, int]
) -> dict[str, float]:
    """pgbench with a custom script on the given database; returns tps and failures."""
    parts = urllib.parse.urlsplit(ADMIN_DATABASE_URL)
    cmd = [
        require_tool("pgbench"),
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
        "-n",
        "-c",
        str(clients),
        "-j",
        str(min(clients, os.cpu_count() or 1)),
        "-T",
        str(max(1, round(seconds))),
        "-f",
        str(script),
        *[f"-D{key}={value}" for key, value in variables.items()],
        db_name,
    ]
    env = {**os.environ}
    if parts.password:
        env["PGPASSWORD"] = parts.password
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchFailure(f"pgbench failed:\n{result.stdout}\n{result.stderr}")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    done = re.search(r"number of transactions actually processed: (\d+)", result.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", result.stdout)
    if not tps or not done:
        raise BenchFailure(f"pgbench printed no tps:\n{result.stdout}")
    return {
        "tps": float(tps.group(1)),
        "transactions": int(done.group(1)),
        "failed": int(failed.group(1)) if failed else 0,
        "latency_ms": float(latency.group(1)) if latency else 0.0,
    }


# --- Profiles ----------------------------------------------------------------------------------


@contextlib.contextmanager
def py_spy(pid: int, name: str, *, enabled: bool, report: Report) -> Iterator[None]:
    """Sample ``pid`` and its children with py-spy while the block runs, then put the functions
    that hold the most samples in the report (inclusive and own time) and the raw stacks on disk."""
    if not enabled:
        yield
        return
    out = RESULTS_DIR / "profiles" / f"{report.benchmark}-{name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        require_tool("py-spy") if shutil.which("py-spy") else str(BIN / "py-spy"),
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--rate",
        "200",
        "--format",
        "raw",
        "--output",
        str(out),
        "--nonblocking",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)  # let it attach before the measured work starts
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if out.exists():
            summary = summarize_profile(out)
            report.details.setdefault("profiles", {})[name] = summary
            out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
            print(f"  profile of {name}: {out.relative_to(ROOT)}")


# Frames that wrap everything (process start, the harness, server loops) say nothing inclusive.
WRAPPER_FRAMES = ("process ", "_run_code", "_run_module_as_main", "<module>")
WRAPPER_FILES = (
    "(<frozen",
    "(multiprocessing/",
    "(bench/",
    "(gunicorn/",
    "(billiard/",
    "(celery/",
    "(click/",
    "(threading.py)",
    "(django/core/handlers/",
    "(django/utils/deprecation.py)",
)


def summarize_profile(path: Path, top: int = 15) -> dict[str, Any]:
    """Collapsed stacks to the functions with the most samples, inclusive and own (leaf)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [short_frame(f) for f in stack.split(";")]
        for frame in set(frames):
            if not frame.startswith(WRAPPER_FRAMES) and not any(w in frame for w in WRAPPER_FILES):
                inclusive[frame] += count
        own[frames[-1]] += count

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(frame, round(100 * n / total, 1)) for frame, n in counter.most_common(top)]

    return {"samples": total, "inclusive_pct": share(inclusive), "own_pct": share(own)}


def short_frame(frame: str) -> str:
    """``func (/long/path/site-packages/django/db/x.py:12)`` to ``func (django/db/x.py)``."""
    match = re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame)
    if not match:
        return frame
    func, path = match.groups()
    for marker in ("site-packages/", f"{ROOT}/", "/lib/python3.12/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{func} ({path})"


def print_profile(report: Report, name: str, top: int = 12) -> None:
    profile = report.details.get("profiles", {}).get(name)
    if not profile:
        return
    print(f"\n  where the time goes in {name} ({profile['samples']} samples), inclusive %:")
    for frame, pct in profile["inclusive_pct"][:top]:
        print(f"    {pct:5.1f}  {frame}")
    print("  own time %:")
    for frame, pct in profile["own_pct"][:top]:
        print(f"    {pct:5.1f}  {frame}")


# --- HTTP helpers ------------------------------------------------------------------------------


def http_login(base_url: str, username: str, password: str) -> tuple[str, str]:
    """Log in through the real login page; returns the Cookie header and the CSRF token.

    Cookies are kept by hand: production marks them Secure, and a cookie jar would not send
    them back over loopback http."""
    import http.client

    parts = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    page = response.read().decode()
    cookies = cookies_from(response.headers.get_all("Set-Cookie") or [])
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not token:
        raise BenchFailure("the login page has no CSRF token")
    body = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)}
    )
    conn.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie_header(cookies),
            "Referer": base_url + "/accounts/login/",
        },
    )
    response = conn.getresponse()
    response.read()
    cookies.update(cookies_from(response.headers.get_all("Set-Cookie") or []))
    conn.close()
    if response.status != 302 or "sessionid" not in cookies:
        raise BenchFailure(f"login as {username} failed: HTTP {response.status}")
    return cookie_header(cookies), cookies["csrftoken"]


def cookies_from(headers: list[str]) -> dict[str, str]:
    cookies = {}
    for header in headers:
        name, _, rest = header.partition("=")
        cookies[name.strip()] = rest.split(";", 1)[0]
    return cookies


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def http_get(
    base_url: str, path: str, cookie: str = "", *, authorization: str = ""
) -> tuple[int, bytes]:
    import http.client

    parts = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    if authorization:
        headers["Authorization"] = authorization
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def peak_mb(run: Callable[[], object]) -> float:
    """The peak of Python's allocations during ``run``, in MB, above what was held before."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - before) / 1e6


def timed(run: Callable[[], object]) -> float:
    """Seconds ``run`` took (wall clock)."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start
