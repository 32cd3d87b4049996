"""Two gunicorn webs and four Celery workers on PostgreSQL, Redis and the object store at once.

20 deliveries are taken at the same moment through both webs (the client alternates), while
their order row is held so that every request is in flight; one web is SIGKILLed with its
requests open, and its clients retry on the other web with the same idempotency key. The jobs
are held at their first insert until all four workers are mid-job; one worker is SIGKILLed.
Then: 20 deliveries, each taken once; 20 READY files, each made once; each file the same bytes
from either web; the counters and the audit trail agree. Waits are on conditions, never on time.
"""

from __future__ import annotations

import hashlib
import http.client
import threading
import time
import urllib.error
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.urls import reverse
from pytest_django.fixtures import Settings

from accounts.models import User
from audit.models import AuditEvent
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from tests.celery_worker import CeleryWorker, celery_worker_factory, run_relay
from tests.conftest import delivered_license_order
from tests.tokens.conftest import csv_rows
from tests.web_process import PortalClient, run_web
from tokens.models import Token, TokenFile
from tokens.services import token_file_sweep

__all__ = ["celery_worker_factory"]

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DELIVERIES = 20
QUANTITY = 25
WAIT_SECONDS = 120


def wait_until(condition: Callable[[], bool], *, what: str, logs: Callable[[], str]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}.\n{logs()[-6000:]}")
        time.sleep(0.2)


def waiting_on_locks(fragment: str) -> int:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE %s",
            [f"%{fragment}%"],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


@contextmanager
def held(sql: str, params: list[object] | None = None) -> Iterator[Callable[[], None]]:
    """Run ``sql`` (a lock) in a transaction of its own until the caller releases it."""
    db = connections.create_connection(DEFAULT_DB_ALIAS)
    db.set_autocommit(False)
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            db.rollback()
            released = True

    try:
        with db.cursor() as cursor:
            cursor.execute(sql, params or [])
        yield release
    finally:
        release()
        db.close()


def status_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in TokenFile.objects.filter(delivery__isnull=False).values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def test_two_webs_and_four_workers_lose_nothing_when_one_of_each_dies(
    acme_user: User,
    acme: object,
    celery_worker_factory: Callable[..., CeleryWorker],
    settings: Settings,
    tmp_path: Path,
) -> None:
    # The test process sweeps as beat would; a job whose worker died is sent again at once.
    settings.TOKEN_FILE_RESEND_AFTER_SECONDS = 0
    settings.TOKEN_FILE_STALE_AFTER_SECONDS = 0
    order: PurchaseOrder = delivered_license_order(
        acme_user.manufacturer,  # type: ignore[arg-type]
        ordered=DELIVERIES * QUANTITY,
        delivered=DELIVERIES * QUANTITY,
        number="MULTI-2026-0001",
    )
    product = order.products.order_by("pk").first()
    assert product is not None
    take_path = reverse("deliveries:initiate", args=[order.number])
    # Takes wait for the held order row longer than the test holds it.
    # The webs only record each job; the relay sends it (as deployed, docker-compose.yml).
    web_env = {"DELIVERY_LOCK_TIMEOUT_MS": "120000", "TOKEN_FILE_RELAY": "1"}
    client = PortalClient(acme_user)

    with ExitStack() as stack:
        web_a = stack.enter_context(run_web(log_dir=tmp_path, threads=12, env=web_env, name="a"))
        web_b = stack.enter_context(run_web(log_dir=tmp_path, threads=12, env=web_env, name="b"))
        workers = [celery_worker_factory() for _ in range(4)]
        relay = stack.enter_context(run_relay(log_dir=tmp_path))

        def logs() -> str:
            return "\n".join(
                [f"--- web a\n{web_a.log()[-2000:]}", f"--- web b\n{web_b.log()[-2000:]}"]
                + [f"--- worker\n{w.log()[-1500:]}" for w in workers]
                + [f"--- relay\n{relay.log()[-1500:]}"]
            )

        keys = [str(uuid.uuid4()) for _ in range(DELIVERIES)]
        answers: dict[int, list[tuple[str, int | str]]] = {i: [] for i in range(DELIVERIES)}

        def take(index: int) -> None:
            webs = [web_a, web_b] if index % 2 == 0 else [web_b, web_a]
            data = {
                "product": str(product.pk),
                "quantity": str(QUANTITY),
                "idempotency_key": keys[index],
            }
            for web in webs:  # the first web, then the other one with the same key
                try:
                    status, _ = client.request(web.base_url, take_path, data=data)
                except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                    answers[index].append((web.log_path.name, type(exc).__name__))
                    continue
                answers[index].append((web.log_path.name, status))
                if status == 302:
                    return

        with (
            held(
                "SELECT id FROM orders_purchaseorder WHERE id = %s FOR UPDATE", [order.pk]
            ) as release_order,
            held("LOCK TABLE tokens_token IN SHARE MODE") as release_tokens,
        ):
            threads = [threading.Thread(target=take, args=(i,)) for i in range(DELIVERIES)]
            for thread in threads:
                thread.start()
            # Every take is in flight, on both webs, waiting for the order row.
            wait_until(
                lambda: waiting_on_locks("FOR UPDATE") >= DELIVERIES,
                what="20 takes waiting on the order row",
                logs=logs,
            )
            web_b.kill()  # ten requests cut off mid-way; their clients go to web a
            release_order()
            for thread in threads:
                thread.join(timeout=WAIT_SECONDS)
                assert not thread.is_alive(), "a take never finished"
            # All four workers have claimed a job and wait at its first insert.
            wait_until(
                lambda: (
                    status_counts().get(TokenFile.Status.GENERATING, 0) >= 4
                    and waiting_on_locks("COPY tokens_token") >= 4
                ),
                what="four jobs held at their first insert",
                logs=logs,
            )
            workers[0].kill()  # mid-job: its transaction dies with it
            release_tokens()

        assert all(answers[i][-1][1] == 302 for i in range(DELIVERIES)), answers
        # Every take sent to web b first was cut off there, and taken on web a instead.
        cut_off = [i for i in range(DELIVERIES) if isinstance(answers[i][0][1], str)]
        assert cut_off == list(range(1, DELIVERIES, 2)), answers
        # A web that comes back serves the same files (and the downloads below use it).
        web_c = stack.enter_context(run_web(log_dir=tmp_path, threads=4, name="c"))

        swept = [0.0]

        def all_ready() -> bool:
            # As beat would, but every 2 s instead of 30: each sweep sends the waiting jobs again.
            if time.monotonic() - swept[0] > 2:
                token_file_sweep()
                swept[0] = time.monotonic()
            return status_counts() == {TokenFile.Status.READY: DELIVERIES}

        wait_until(all_ready, what="20 READY token files", logs=logs)

        deliveries = list(NewDelivery.objects.filter(order=order).order_by("pk"))
        assert len(deliveries) == DELIVERIES
        assert sorted(str(d.idempotency_key) for d in deliveries) == sorted(keys)
        order.refresh_from_db()
        assert order.new_tokens_delivered == DELIVERIES * QUANTITY
        assert order.new_tokens_delivered <= order.quantity_delivered
        assert Token.objects.filter(delivery__order=order).count() == DELIVERIES * QUANTITY
        assert AuditEvent.objects.filter(action="delivery.taken").count() == DELIVERIES
        # Each file made once: one "ready" event each, whatever the retries (the seed's original
        # delivery has a file of its own, made by the same workers: left out here).
        new_files = {
            str(pk)
            for pk in TokenFile.objects.filter(delivery__order=order).values_list("pk", flat=True)
        }
        ready_events = AuditEvent.objects.filter(
            action="tokens.file_ready", object_id__in=new_files
        )
        assert ready_events.count() == DELIVERIES
        # The request id of each take reached its job: the file's "ready" event carries the id of
        # the take's request, or one of the job's own when the sweeper (no request) sent it again.
        taken_by = {
            int(e.object_id): e.request_id
            for e in AuditEvent.objects.filter(action="delivery.taken")
        }
        assert all(len(request) == 32 for request in taken_by.values()), taken_by
        carried = 0
        for event in ready_events:
            token_file = TokenFile.objects.get(pk=int(event.object_id))
            if event.request_id == taken_by[token_file.delivery_id]:
                carried += 1
            else:
                assert event.request_id.startswith("task-"), event.request_id
        assert carried >= 1
        for delivery in deliveries:
            token_file = TokenFile.objects.get(delivery=delivery)
            path = reverse("tokens:download", args=[delivery.pk])
            bodies = []
            for web in (web_a, web_c):
                status, body = client.request(web.base_url, path)
                assert status == 200, (web.log_path.name, status, body[:300])
                bodies.append(body)
            assert bodies[0] == bodies[1]
            assert hashlib.sha256(bodies[0]).hexdigest() == token_file.sha256
            assert len(csv_rows(bodies[0])) == QUANTITY + 1
