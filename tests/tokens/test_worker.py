"""Integration: the token file job in a real Celery worker process, on Redis and PostgreSQL.

Faults are real too: the broker is unreachable at take time (the app pointed at a dead port),
and workers are killed with SIGKILL while another session holds a lock that pins the job at a
chosen point (inside its token inserts, or at its final write), so the kill lands mid-job every
time, not by luck of timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.core.files.storage import storages
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from accounts.models import User
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from tests.celery_worker import CeleryWorker, broker_unreachable
from tests.tokens.conftest import csv_rows, file_bytes, file_of, take
from tokens.generation import token_file_generate as make_token_file
from tokens.models import Token, TokenFile
from tokens.services import token_file_enqueue, token_file_sweep
from tokens.tasks import token_file_generate
from tokens.tasks import token_file_sweep as token_file_sweep_task

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(
    condition: Callable[[], bool],
    *,
    worker: CeleryWorker,
    what: str,
    timeout: float = 60,
    between: Callable[[], object] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}. Worker log:\n{worker.log()[-4000:]}")
        if between is not None:
            between()
        time.sleep(0.2)


def status_of(token_file: TokenFile) -> str:
    return TokenFile.objects.values_list("status", flat=True).get(pk=token_file.pk)


@contextmanager
def session() -> Iterator[BaseDatabaseWrapper]:
    """Another database session, in a transaction, rolled back at the end."""
    db = connections.create_connection(DEFAULT_DB_ALIAS)
    db.set_autocommit(False)
    try:
        yield db
    finally:
        db.rollback()
        db.close()


def hold_serial(db: BaseDatabaseWrapper, delivery: NewDelivery, serial: int) -> None:
    """Insert, uncommitted, the delivery's token number ``serial``: the job's insert of that
    serial then waits on the unique index until this session ends."""
    with db.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tokens_token (delivery_id, product_id, serial, uuid, auth_key) "
            "VALUES (%s, %s, %s, %s, %s)",
            [delivery.pk, delivery.product_id, serial, "h" * 20, "H" * 32],
        )


def blocked_statements(prefix: str) -> int:
    """Statements of this database starting with ``prefix`` that are waiting for a lock."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            [prefix + "%"],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def sweep_until_ready(token_file: TokenFile, *, worker: CeleryWorker) -> None:
    """Sweep as beat would (here without its 30 s pause) until the worker completes the job."""
    wait_for(
        lambda: status_of(token_file) == "ready",
        worker=worker,
        what="a sweep to complete the job",
        between=token_file_sweep,
    )


def assert_complete(delivery: NewDelivery, quantity: int) -> TokenFile:
    token_file = file_of(delivery)
    assert token_file.status == TokenFile.Status.READY
    serials = sorted(Token.objects.filter(delivery=delivery).values_list("serial", flat=True))
    assert serials == list(range(1, quantity + 1))  # one set, no gap, no second set
    body = csv_rows(file_bytes(token_file))[1:]
    assert len(body) == quantity
    assert len({row[0] for row in body}) == quantity
    assert len({row[1] for row in body}) == quantity
    return token_file


def test_a_delivery_goes_from_pending_to_ready_in_the_worker_and_downloads(
    celery_worker_factory: Callable[..., CeleryWorker],
    seed_order: PurchaseOrder,
    acme_user: User,
    acme_client: Client,
) -> None:
    worker = celery_worker_factory(concurrency=2)
    delivery = take(seed_order, acme_user, 500)
    token_file = file_of(delivery)
    # Sent twice more, as a redelivery or a second sweep could: two copies may run at once.
    token_file_generate.delay(token_file.pk)
    token_file_generate.delay(token_file.pk)
    wait_for(lambda: status_of(token_file) == "ready", worker=worker, what="the file")

    response = acme_client.get(reverse("tokens:download", args=[delivery.pk]))
    assert response.status_code == 200
    body = csv_rows(b"".join(response.streaming_content))[1:]  # type: ignore[arg-type]
    assert len(body) == 500
    assert all(len(row[0]) == 20 and row[0].isalnum() and row[0].islower() for row in body)
    assert all(len(row[1]) == 32 and row[1].isalnum() and row[1].isascii() for row in body)
    assert_complete(delivery, 500)


def test_a_delivery_taken_while_the_broker_is_down_is_completed_by_the_sweeper(
    celery_worker_factory: Callable[..., CeleryWorker],
    seed_order: PurchaseOrder,
    acme_user: User,
    acme_client: Client,
) -> None:
    # The worker's sweeps re-send at once rather than after a minute, to keep the test short.
    worker = celery_worker_factory(env={"TOKEN_FILE_RESEND_AFTER_SECONDS": "0"})
    with broker_unreachable():
        delivery = take(seed_order, acme_user, 200)
    token_file = file_of(delivery)
    assert (token_file.status, token_file.enqueued_at) == ("pending", None)
    html = acme_client.get(reverse("deliveries:delivery_list")).content.decode()
    assert "Pending" in html
    assert delivery.number in html
    time.sleep(1)
    assert status_of(token_file) == "pending"  # nothing was sent: nothing happened

    # The broker is back; beat's next sweep (its task, run by the worker) sends the job.
    token_file_sweep_task.delay()
    wait_for(lambda: status_of(token_file) == "ready", worker=worker, what="the sweep")
    assert_complete(delivery, 200)


def test_a_worker_killed_inside_its_inserts_leaves_nothing_and_a_sweep_completes_it(
    celery_worker_factory: Callable[..., CeleryWorker],
    seed_order: PurchaseOrder,
    acme_user: User,
    settings: Settings,
) -> None:
    settings.TOKEN_FILE_RESEND_AFTER_SECONDS = 0
    settings.TOKEN_FILE_STALE_AFTER_SECONDS = 0
    # The seed's original token files are made here first: the sweeps below send only the job
    # under test to the worker.
    for original in TokenFile.objects.filter(original_delivery__order=seed_order):
        make_token_file(token_file_id=original.pk)
    first = celery_worker_factory(env={"TOKEN_FILE_BATCH_SIZE": "100"})
    with broker_unreachable():
        delivery = take(seed_order, acme_user, 350)
    token_file = file_of(delivery)
    with session() as blocker:
        hold_serial(blocker, delivery, 201)  # tokens 1-200 go in; 201 waits
        assert token_file_enqueue(token_file_id=token_file.pk)
        wait_for(
            lambda: (
                TokenFile.objects.filter(pk=token_file.pk, done=200).exists()
                and blocked_statements("COPY tokens_token") == 1
            ),
            worker=first,
            what="the job to stop at serial 201",
        )
        first.kill()
        # The job had made 200 tokens, uncommitted: none is visible, nothing says ready.
        assert status_of(token_file) == "generating"
        assert not Token.objects.filter(delivery=delivery).exists()
    assert file_of(delivery).storage_name == ""

    sweep_until_ready(token_file, worker=celery_worker_factory())
    completed = assert_complete(delivery, 350)
    assert completed.attempts == 2


def test_a_worker_killed_at_its_last_write_leaves_nothing_ready_and_a_sweep_completes_it(
    celery_worker_factory: Callable[..., CeleryWorker],
    seed_order: PurchaseOrder,
    acme_user: User,
    settings: Settings,
) -> None:
    """Killed when its tokens are inserted and its file is saved, waiting to mark the row READY:
    the tokens roll back with the transaction, the saved file names no issued token and is
    removed by the attempt that completes the job."""
    settings.TOKEN_FILE_RESEND_AFTER_SECONDS = 0
    settings.TOKEN_FILE_STALE_AFTER_SECONDS = 0
    # The seed's original token files are made here first: the sweeps below send only the job
    # under test to the worker.
    for original in TokenFile.objects.filter(original_delivery__order=seed_order):
        make_token_file(token_file_id=original.pk)
    first = celery_worker_factory()
    with broker_unreachable():
        delivery = take(seed_order, acme_user, 300)
    token_file = file_of(delivery)
    folder = f"token-files/{token_file.pk}"
    storage = storages["private"]
    with session() as row_lock:
        with session() as blocker:
            hold_serial(blocker, delivery, 1)  # holds the job before its first insert
            assert token_file_enqueue(token_file_id=token_file.pk)
            wait_for(
                lambda: blocked_statements("COPY tokens_token") == 1,
                worker=first,
                what="the job to start its inserts",
            )
            with row_lock.cursor() as cursor:
                cursor.execute(
                    "SELECT id FROM tokens_tokenfile WHERE id = %s FOR UPDATE", [token_file.pk]
                )
        # The blocker is gone: the job inserts, writes and saves, then waits on the row.
        wait_for(
            lambda: blocked_statements('UPDATE "tokens_tokenfile"') == 1,
            worker=first,
            what="the job to wait at its final write",
        )
        saved_by_the_killed_job = storage.listdir(folder)[1]
        assert sorted(name.rsplit(".", 1)[1] for name in saved_by_the_killed_job) == ["csv", "xlsx"]
        first.kill()
    assert status_of(token_file) == "generating"
    assert not Token.objects.filter(delivery=delivery).exists()

    sweep_until_ready(token_file, worker=celery_worker_factory())
    completed = assert_complete(delivery, 300)
    # New tokens, so a new file; the killed job's file is gone.
    kept = [completed.storage_name, *completed.workbooks.values_list("storage_name", flat=True)]
    assert sorted(storage.listdir(folder)[1]) == sorted(name.rsplit("/", 1)[1] for name in kept)
    assert not set(saved_by_the_killed_job) & set(storage.listdir(folder)[1])
