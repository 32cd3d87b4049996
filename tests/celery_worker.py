"""A real Celery worker process for integration tests, and a broker that is down.

``celery_worker`` starts ``celery -A refurb_portal worker`` as a subprocess of the test, on this
checkout's test database (``DATABASE_URL`` names the database pytest-django created) and this
checkout's queue, waits until it is ready, and stops it after the test. Tests that use it need
``@pytest.mark.django_db(transaction=True)``: the worker only sees committed rows (the fixture
asks for ``transactional_db`` itself). ``celery_worker_factory`` starts more than one, for tests
that kill a worker and need another. Import the fixtures into a ``conftest.py`` to use them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from refurb_portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 60


@dataclass
class CeleryWorker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a crash or the OOM killer
        would: no warm shutdown, no acknowledgement, no cleanup."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL if it does not end in time."""
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


def worker_database_url() -> str:
    """The URL of the database this test process uses (the test database, once created)."""
    db = connection.settings_dict
    user = quote(str(db.get("USER") or ""), safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{db['NAME']}"


def purge_queue() -> None:
    """Drop messages left in this checkout's queue (only that key; the queue name is ours)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    finally:
        client.close()


def _process_env(env: dict[str, str] | None) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "refurb_portal.settings.test",
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }


@contextmanager
def _run_until_ready(
    command: list[str], *, log_path: Path, env: dict[str, str] | None, ready: str, what: str
) -> Iterator[CeleryWorker]:
    with log_path.open("wb") as log:
        # A session of its own, so that kill() reaches the pool processes too.
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_process_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = CeleryWorker(process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while ready not in worker.log():
            if not worker.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The {what} did not start:\n{worker.log()[-4000:]}")
            time.sleep(0.1)
        yield worker
    finally:
        worker.stop()


@contextmanager
def run_celery_worker(
    *, log_dir: Path, concurrency: int = 1, env: dict[str, str] | None = None
) -> Iterator[CeleryWorker]:
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    name = f"test-{uuid.uuid4().hex[:8]}"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "refurb_portal",
        "worker",
        "--loglevel=INFO",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        f"--queues={queue}",
        f"--hostname={name}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with _run_until_ready(
        command,
        log_path=log_dir / f"celery-{name}.log",
        env=env,
        ready=" ready.",
        what="Celery worker",
    ) as worker:
        yield worker


@contextmanager
def run_relay(*, log_dir: Path, env: dict[str, str] | None = None) -> Iterator[CeleryWorker]:
    """``manage.py token_file_relay`` on the test database and queue (``tokens.relay``)."""
    command = [sys.executable, "manage.py", "token_file_relay"]
    with _run_until_ready(
        command,
        log_path=log_dir / f"relay-{uuid.uuid4().hex[:8]}.log",
        env={"TOKEN_FILE_RELAY": "1", **(env or {})},
        ready="Token file relay ready.",
        what="token file relay",
    ) as relay:
        yield relay


@pytest.fixture
def celery_worker_factory(
    transactional_db: None, tmp_path: Path
) -> Iterator[Callable[..., CeleryWorker]]:
    """Start workers on demand (``start(concurrency=2, env={...})``); all stop after the test."""
    purge_queue()
    with ExitStack() as stack:

        def start(**kwargs: object) -> CeleryWorker:
            return stack.enter_context(run_celery_worker(log_dir=tmp_path, **kwargs))  # type: ignore[arg-type]

        yield start
    purge_queue()


@pytest.fixture
def celery_worker(celery_worker_factory: Callable[..., CeleryWorker]) -> CeleryWorker:
    return celery_worker_factory()


def _reset_broker_connections() -> None:
    # Celery keeps a pool of broker connections per app; drop it so the next send reconnects.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def broker_unreachable() -> Iterator[str]:
    """Point this process's Celery app at a port where nothing listens, as if Redis were down;
    sends fail with kombu's OperationalError. Workers and Redis itself are not touched."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    saved = celery_app.conf.broker_url
    _reset_broker_connections()
    celery_app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    try:
        yield celery_app.conf.broker_url
    finally:
        celery_app.conf.broker_url = saved
        _reset_broker_connections()
