"""The outbox and its sweeper, the enqueue after commit, and a broker that is down."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings as django_settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone
from pytest_django.fixtures import Settings

from accounts.models import User
from audit.models import AuditEvent
from orders.models import PurchaseOrder
from refurb_portal.celery import app
from tests.celery_worker import broker_unreachable
from tests.tokens.conftest import file_of, take
from tokens.generation import token_file_generate
from tokens.models import Token, TokenFile
from tokens.services import token_file_sweep

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    client.delete(django_settings.CELERY_TASK_DEFAULT_QUEUE)
    yield client
    client.delete(django_settings.CELERY_TASK_DEFAULT_QUEUE)
    client.close()


def queued(client: redis.Redis) -> int:
    return int(client.llen(django_settings.CELERY_TASK_DEFAULT_QUEUE))


def test_taking_a_delivery_sends_its_job_after_the_commit(
    seed_order: PurchaseOrder, acme_user: User, queue: redis.Redis
) -> None:
    delivery = take(seed_order, acme_user, 10)
    token_file = file_of(delivery)
    assert token_file.status == TokenFile.Status.PENDING
    assert token_file.enqueued_at is not None
    assert queued(queue) == 1


def test_with_the_broker_down_the_delivery_is_recorded_and_its_job_left_pending(
    seed_order: PurchaseOrder, acme_user: User, queue: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    with broker_unreachable(), caplog.at_level(logging.WARNING):
        delivery = take(seed_order, acme_user, 10)
    token_file = file_of(delivery)
    assert (token_file.status, token_file.enqueued_at) == (TokenFile.Status.PENDING, None)
    assert "left for the sweeper" in caplog.text
    seed_order.refresh_from_db()
    assert seed_order.new_tokens_delivered == 10
    assert queued(queue) == 0


def test_the_sweeper_sends_again_only_the_jobs_that_are_stuck(
    seed_order: PurchaseOrder, acme_user: User, queue: redis.Redis, settings: Settings
) -> None:
    settings.TOKEN_FILE_RESEND_AFTER_SECONDS = 60
    settings.TOKEN_FILE_STALE_AFTER_SECONDS = 120
    now = timezone.now()
    ago = lambda seconds: now - dt.timedelta(seconds=seconds)  # noqa: E731
    cases = {
        "pending, new": {"created_at": ago(10), "enqueued_at": None},
        "pending, never sent": {"created_at": ago(300), "enqueued_at": None},
        "pending, sent long ago": {"created_at": ago(900), "enqueued_at": ago(300)},
        "pending, sent just now": {"created_at": ago(300), "enqueued_at": ago(10)},
        "generating, alive": {
            "status": TokenFile.Status.GENERATING,
            "created_at": ago(300),
            "enqueued_at": ago(300),
            "heartbeat_at": ago(10),
        },
        "generating, dead": {
            "status": TokenFile.Status.GENERATING,
            "created_at": ago(600),
            "enqueued_at": ago(600),
            "heartbeat_at": ago(300),
        },
        "generating, dead, sent again just now": {
            "status": TokenFile.Status.GENERATING,
            "created_at": ago(600),
            "enqueued_at": ago(10),
            "heartbeat_at": ago(300),
        },
        "failed": {"status": TokenFile.Status.FAILED, "created_at": ago(600), "enqueued_at": None},
    }
    ids = {}
    for name, fields in cases.items():
        token_file = file_of(take(seed_order, acme_user, 1))
        TokenFile.objects.filter(pk=token_file.pk).update(**fields)
        ids[name] = token_file.pk
    queue.delete(django_settings.CELERY_TASK_DEFAULT_QUEUE)

    sent = token_file_sweep()

    due = {"pending, never sent", "pending, sent long ago", "generating, dead"}
    assert sorted(sent) == sorted(ids[name] for name in due)
    assert queued(queue) == 3
    for name in due:
        assert TokenFile.objects.get(pk=ids[name]).enqueued_at >= now
    assert token_file_sweep() == []  # just sent: not again before the resend delay


def test_the_sweeper_skips_a_row_another_session_holds(
    seed_order: PurchaseOrder, acme_user: User, queue: redis.Redis, settings: Settings
) -> None:
    settings.TOKEN_FILE_RESEND_AFTER_SECONDS = 0
    # The order's original tokens first: their file is another job the sweeper would send.
    for original in TokenFile.objects.filter(original_delivery__order=seed_order):
        token_file_generate(token_file_id=original.pk)
    token_file = file_of(take(seed_order, acme_user, 1))
    TokenFile.objects.filter(pk=token_file.pk).update(enqueued_at=None)
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM tokens_tokenfile WHERE id = %s FOR UPDATE", [token_file.pk]
            )
        assert token_file_sweep() == []  # no wait, no error: skipped
        other.rollback()
    finally:
        other.close()
    assert token_file_sweep() == [token_file.pk]


def test_the_sweep_task_is_scheduled_by_beat() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["tokens-sweep"]
    assert entry["task"] == "tokens.token_file_sweep"
    assert entry["task"] in app.tasks
    assert "tokens.token_file_generate" in app.tasks


def test_token_values_are_never_written_to_the_job_row_or_logs(
    seed_order: PurchaseOrder, acme_user: User, caplog: pytest.LogCaptureFixture
) -> None:
    """The job row is read whole, every column as the database holds it (so a column added
    later is read too), beside the log records and the audit trail of the job."""
    token_file = file_of(take(seed_order, acme_user, 20))
    with caplog.at_level(logging.DEBUG):
        token_file_generate(token_file_id=token_file.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM tokens_tokenfile WHERE id = %s", [token_file.pk])
        job_row = " ".join(str(value) for value in cursor.fetchone())
    assert "ready" in job_row  # the row read is the finished job's
    audit_trail = " ".join(
        str(event.details) for event in AuditEvent.objects.filter(object_id=str(token_file.pk))
    )
    assert audit_trail
    values = list(
        Token.objects.filter(delivery=token_file.delivery).values_list("uuid", "auth_key")
    )
    assert len(values) == 20
    for uuid, key in values:
        for where, text in (("job row", job_row), ("logs", caplog.text), ("audit", audit_trail)):
            assert key not in text, f"an AuthKey in the {where}"
            assert uuid not in text, f"a token UUID in the {where}"
