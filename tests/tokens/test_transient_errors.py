"""The token file job against database errors that pass: retried, never FAILED for good.

The connection is really killed (``pg_terminate_backend``) while the job's COPY waits on a row
another session holds, so the kill lands mid-COPY every time, not by luck of timing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    OperationalError,
    connection,
    connections,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from pytest_django.fixtures import Settings

from accounts.models import User
from audit.models import AuditEvent
from orders.models import PurchaseOrder
from refurb_portal.celery import app as celery_app
from refurb_portal.dberrors import is_transient_database_error
from tests.tokens.conftest import file_of, take
from tokens import generation
from tokens.models import Token, TokenFile
from tokens.tasks import retry_countdown, token_file_generate

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _task_outcomes_kept() -> Iterator[None]:
    """apply() as a worker runs the task: its retries run in turn and its outcome is the
    result's state, not an exception raised into the test (``task_eager_propagates``)."""
    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = previous


@contextmanager
def holding_serial(delivery_pk: int, product_pk: int, serial: int) -> Iterator[None]:
    """Another session inserts, uncommitted, the delivery's token ``serial``: the job's COPY of
    the batch holding that serial waits on the unique index until this session ends."""
    db: BaseDatabaseWrapper = connections.create_connection(DEFAULT_DB_ALIAS)
    db.set_autocommit(False)
    try:
        with db.cursor() as cursor:
            cursor.execute(
                "INSERT INTO tokens_token (delivery_id, product_id, serial, uuid, auth_key) "
                "VALUES (%s, %s, %s, %s, %s)",
                [delivery_pk, product_pk, serial, "h" * 20, "H" * 32],
            )
        yield
    finally:
        db.rollback()
        db.close()


def blocked_copy_backend() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' "
            "AND query LIKE 'COPY tokens_token%%'"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def test_a_connection_killed_mid_copy_is_retried_and_the_file_made(
    seed_order: PurchaseOrder, acme_user: User, settings: Settings
) -> None:
    settings.TOKEN_FILE_BATCH_SIZE = 100
    delivery = take(seed_order, acme_user, 500)
    token_file = file_of(delivery)
    errors: list[BaseException] = []
    outcomes: list[str] = []

    def run_the_task() -> None:
        try:
            # apply(): the task as a worker runs it, its retries run at once in this thread.
            outcomes.append(token_file_generate.apply(args=[token_file.pk]).state)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            connection.close()

    job = threading.Thread(target=run_the_task)
    # Killed in its COPY at 200 of 500 tokens (the case was 40,000 of 200,000).
    with holding_serial(delivery.pk, delivery.product_id, 201):
        job.start()
        for _ in range(600):
            pid = blocked_copy_backend()
            if pid is not None:
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the job never reached its COPY of serial 201")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone() == (True,)
    job.join(timeout=120)
    assert not job.is_alive()
    assert not errors
    assert outcomes == ["SUCCESS"]
    token_file.refresh_from_db()
    assert token_file.status == TokenFile.Status.READY
    assert token_file.attempts == 2
    assert token_file.error == ""
    serials = sorted(Token.objects.filter(delivery=delivery).values_list("serial", flat=True))
    assert serials == list(range(1, 501))
    assert not AuditEvent.objects.filter(action="tokens.file_failed").exists()


def test_transient_errors_are_retried_up_to_the_attempt_limit_then_failed(
    seed_order: PurchaseOrder, acme_user: User, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.TOKEN_FILE_MAX_ATTEMPTS = 3
    token_file = file_of(take(seed_order, acme_user, 5))
    runs: list[int] = []

    def deadlocked(token_file_id: int) -> None:
        runs.append(token_file_id)
        raise OperationalError("deadlock detected") from psycopg.errors.DeadlockDetected()

    monkeypatch.setattr(generation, "_make", deadlocked)
    token_file_generate.apply(args=[token_file.pk])
    token_file.refresh_from_db()
    assert len(runs) == 3
    assert token_file.status == TokenFile.Status.FAILED
    assert token_file.error == "Stopped after 3 attempts that did not finish."


def test_what_retrying_cannot_fix_fails_at_once(
    seed_order: PurchaseOrder, acme_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = file_of(take(seed_order, acme_user, 5))

    def broken(token_file_id: int) -> None:
        raise IntegrityError("check constraint") from psycopg.errors.CheckViolation()

    monkeypatch.setattr(generation, "_make", broken)
    assert token_file_generate.apply(args=[token_file.pk]).state == "FAILURE"
    token_file.refresh_from_db()
    assert (token_file.status, token_file.attempts) == (TokenFile.Status.FAILED, 1)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (psycopg.errors.SerializationFailure(), True),
        (psycopg.errors.DeadlockDetected(), True),
        (psycopg.errors.LockNotAvailable(), True),
        (psycopg.errors.AdminShutdown(), True),
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.errors.CheckViolation(), False),
        (psycopg.errors.UndefinedTable(), False),
        (psycopg.errors.DiskFull(), False),
    ],
)
def test_which_database_errors_are_transient(error: Exception, transient: bool) -> None:
    django_class = (
        OperationalError if isinstance(error, psycopg.OperationalError) else DatabaseError
    )
    wrapped = django_class(str(error))
    wrapped.__cause__ = error  # as Django's wrapper raises it: "raise ... from" the driver's
    assert is_transient_database_error(wrapped) is transient
    job_failed = RuntimeError("job failed")
    job_failed.__cause__ = wrapped
    assert is_transient_database_error(job_failed) is transient
    assert is_transient_database_error(RuntimeError("job failed")) is False


def test_the_backoff_doubles_and_stays_below_the_sweepers_resend(settings: Settings) -> None:
    settings.TOKEN_FILE_RETRY_BACKOFF_SECONDS = 2
    settings.TOKEN_FILE_RESEND_AFTER_SECONDS = 60
    assert [retry_countdown(attempt) for attempt in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
