"""The relay: a take sends nothing to the broker; the relay sends each committed job once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone
from pytest_django.fixtures import Settings

from accounts.models import User
from orders.models import PurchaseOrder
from refurb_portal.request_id import request_id_as
from tests.celery_worker import broker_unreachable
from tests.threads import HANG_TIMEOUT_SECONDS, barrier, join_all, start_all
from tests.tokens.conftest import file_of, queued, take
from tokens import relay
from tokens.models import TokenFile
from tokens.relay import relay_forever, token_file_relay_send

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _relay_on(settings: Settings) -> None:
    settings.TOKEN_FILE_RELAY = True


@pytest.fixture
def seed_order(seed_order: PurchaseOrder) -> PurchaseOrder:
    """The seed's order, the job of its original delivery's tokens marked sent already, so that
    each test sees only the jobs of its own takes."""
    TokenFile.objects.filter(original_delivery__order=seed_order).update(enqueued_at=timezone.now())
    return seed_order


def test_a_take_leaves_its_job_unsent_and_the_relay_sends_it_once(
    seed_order: PurchaseOrder, acme_user: User, queue: redis.Redis
) -> None:
    with request_id_as("take-request-0001"):
        delivery = take(seed_order, acme_user, 10)
    token_file = file_of(delivery)
    assert (token_file.status, token_file.enqueued_at) == (TokenFile.Status.PENDING, None)
    assert token_file.request_id == "take-request-0001"
    assert queued(queue) == 0

    assert token_file_relay_send().sent == [token_file.pk]
    assert file_of(delivery).enqueued_at is not None
    assert queued(queue) == 1
    assert b"take-request-0001" in queue.lindex(django_settings.CELERY_TASK_DEFAULT_QUEUE, 0)
    assert token_file_relay_send().sent == []
    assert queued(queue) == 1


def test_with_the_broker_down_the_relay_puts_the_jobs_back_unsent(
    seed_order: PurchaseOrder, acme_user: User, queue: redis.Redis
) -> None:
    files = [file_of(take(seed_order, acme_user, 1)) for _ in range(3)]
    with broker_unreachable():
        done = token_file_relay_send()
    assert (done.sent, done.left) == ([], 3)
    assert set(
        TokenFile.objects.filter(delivery__isnull=False).values_list("enqueued_at", flat=True)
    ) == {None}
    assert sorted(token_file_relay_send().sent) == sorted(f.pk for f in files)
    assert queued(queue) == 3


def test_two_relays_at_once_send_every_job_exactly_once(
    seed_order: PurchaseOrder, acme_user: User, queue: redis.Redis
) -> None:
    files = {file_of(take(seed_order, acme_user, 1)).pk for _ in range(40)}
    start = barrier(2)
    sent: list[list[int]] = [[], []]

    def relay(index: int) -> None:
        try:
            start.wait()
            while done := token_file_relay_send(limit=3).sent:
                sent[index].extend(done)
        finally:
            connection.close()

    join_all(start_all([lambda: relay(0), lambda: relay(1)]))
    assert sorted(sent[0] + sent[1]) == sorted(files)
    assert queued(queue) == len(files)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_TIMEOUT_SECONDS  # bounds a hang, measures nothing
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@contextmanager
def running_relay(monkeypatch: pytest.MonkeyPatch, *, wake: str) -> Iterator[threading.Event]:
    """The relay's loop in a thread of its own, polling far less often than a test's bound (so
    only a notification can wake it in time); yields the event it sets each time it starts
    waiting. At the end it is stopped, woken by a NOTIFY on channel ``wake``, and joined."""
    stop = threading.Event()
    waiting = threading.Event()
    await_notification = relay._await_notification

    def waits(seconds: float, listening: bool) -> None:
        assert listening
        waiting.set()
        await_notification(seconds, listening)

    monkeypatch.setattr(relay, "_await_notification", waits)

    def run() -> None:
        relay_forever(stop=stop, poll_seconds=HANG_TIMEOUT_SECONDS * 10)

    [thread] = start_all([run])
    try:
        yield waiting
    finally:
        stop.set()
        with connection.cursor() as cursor:  # wakes it from its wait so that it sees the stop
            cursor.execute("SELECT pg_notify(%s, '')", [wake])
        join_all([thread])


def test_the_running_relay_is_woken_by_the_commit_of_a_take(
    seed_order: PurchaseOrder, acme_user: User, queue: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    take(seed_order, acme_user, 1)  # sent by its first round
    with running_relay(monkeypatch, wake="refurb_token_file_unsent") as waiting:
        wait_for(lambda: queued(queue) == 1, "the first round")
        wait_for(waiting.is_set, "the relay to wait")
        delivery = take(seed_order, acme_user, 2)
        wait_for(lambda: queued(queue) == 2, "the relay to send the second job")
        assert file_of(delivery).enqueued_at is not None
