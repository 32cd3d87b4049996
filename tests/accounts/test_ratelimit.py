"""Abuse limits per user and per manufacturer, counted in Redis in fixed windows.

Time is frozen (``accounts.ratelimit.clock``) so that no test can straddle a window boundary.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts import ratelimit
from accounts.errors import AccountError
from accounts.models import Manufacturer, User
from accounts.ratelimit import (
    rate_limit_attempt,
    rate_limit_consume,
    rate_limit_reset,
    rate_limited,
)
from audit.models import AuditEvent
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from refurb_portal.settings import base
from tests.deliveries.conftest import form_key, take
from tests.factories import ManufacturerFactory, UserFactory
from tests.threads import barrier, run_in_threads

TAKE = "delivery.take"
DOWNLOAD = "tokens.download"
# A fixed instant in the middle of a window, so no test straddles a window boundary.
NOW = 1_900_000_040.0  # 20 s into its minute


class FrozenClock:
    """What ``accounts.ratelimit.clock`` reads in these tests; moved only by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    frozen = FrozenClock(NOW)
    monkeypatch.setattr(ratelimit, "clock", frozen)
    return frozen


def limits(user: int, manufacturer: int) -> dict[str, dict[str, int]]:
    return {
        TAKE: {"user": user, "manufacturer": manufacturer, "seconds": 60},
        DOWNLOAD: {"user": 2, "manufacturer": 2, "seconds": 60},
    }


@pytest.fixture
def small_limits(settings: Any) -> None:
    settings.RATE_LIMITS = limits(user=3, manufacturer=5)


def reset(manufacturer: Manufacturer, *users: User, now: float = NOW) -> None:
    for action in (TAKE, DOWNLOAD):
        rate_limit_reset(action=action, manufacturer=manufacturer, now=now)
        for user in users:
            rate_limit_reset(action=action, manufacturer=manufacturer, user=user, now=now)


@pytest.mark.django_db
@pytest.mark.usefixtures("small_limits")
def test_the_user_limit_refuses_the_next_attempt_with_a_clear_message(
    acme: Manufacturer, acme_user: User
) -> None:
    reset(acme, acme_user)
    for _ in range(3):
        rate_limit_consume(action=TAKE, manufacturer=acme, user=acme_user)
    with pytest.raises(AccountError) as refused:
        rate_limit_consume(action=TAKE, manufacturer=acme, user=acme_user, now=NOW + 10)
    assert refused.value.message == (
        "Too many attempts: you have made 3 take delivery attempts in the last minute, the most "
        "allowed. Please wait 30 seconds and try again."
    )
    # Refused again: audited once per window, so hammering cannot flood the trail.
    with pytest.raises(AccountError):
        rate_limit_consume(action=TAKE, manufacturer=acme, user=acme_user, now=NOW + 11)
    event = AuditEvent.objects.get(action="ratelimit.exceeded")
    assert (event.actor, event.manufacturer, event.details) == (
        acme_user,
        acme,
        {"limited": TAKE, "per": "user", "limit": 3, "window_seconds": 60},
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("small_limits")
def test_colleagues_have_their_own_limit_and_share_the_company_one(
    acme: Manufacturer, acme_user: User, globex: Manufacturer, globex_user: User
) -> None:
    colleague = UserFactory(username="acme-2", manufacturer=acme)
    third = UserFactory(username="acme-3", manufacturer=acme)
    reset(acme, acme_user, colleague, third)
    reset(globex, globex_user)
    for _ in range(3):
        rate_limit_consume(action=TAKE, manufacturer=acme, user=acme_user)
    with pytest.raises(AccountError) as refused:
        rate_limit_consume(action=TAKE, manufacturer=acme, user=acme_user)
    assert refused.value.code == "rate_limited_delivery.take_user"
    # The refusal above was not counted against the company: the colleague still has 2 of its 5.
    for _ in range(2):
        rate_limit_consume(action=TAKE, manufacturer=acme, user=colleague)
    with pytest.raises(AccountError) as company:
        rate_limit_consume(action=TAKE, manufacturer=acme, user=third)
    assert company.value.message.startswith(
        "Too many attempts: your company has made 5 take delivery attempts in the last minute"
    )
    # Another manufacturer, another action, the next window: counted on their own.
    rate_limit_consume(action=TAKE, manufacturer=globex, user=globex_user)
    rate_limit_consume(action=DOWNLOAD, manufacturer=acme, user=acme_user)
    reset(acme, acme_user, now=NOW + 60)
    rate_limit_consume(action=TAKE, manufacturer=acme, user=acme_user, now=NOW + 60)


@pytest.mark.django_db
@pytest.mark.usefixtures("small_limits")
def test_an_attempt_given_back_does_not_count(acme: Manufacturer, acme_user: User) -> None:
    reset(acme, acme_user)
    for _ in range(10):
        rate_limit_consume(action=TAKE, manufacturer=acme, user=acme_user).refund()
    for _ in range(10):
        with (
            pytest.raises(ValueError, match="refused input"),
            rate_limit_attempt(action=TAKE, manufacturer=acme, user=acme_user),
        ):
            raise ValueError("refused input")
    for _ in range(3):
        with rate_limit_attempt(action=TAKE, manufacturer=acme, user=acme_user):
            pass
    with pytest.raises(AccountError):
        rate_limit_consume(action=TAKE, manufacturer=acme, user=acme_user)


@pytest.mark.django_db
@pytest.mark.usefixtures("small_limits")
def test_the_view_decorator_answers_429_and_skips_the_view(
    acme: Manufacturer, acme_user: User
) -> None:
    reset(acme, acme_user)
    calls: list[int] = []

    @rate_limited(DOWNLOAD)
    def download(request: HttpRequest) -> HttpResponse:
        calls.append(1)
        return HttpResponse("file")

    def request() -> HttpRequest:
        req = RequestFactory().get("/file")
        req.user = acme_user
        req.manufacturer = acme  # type: ignore[attr-defined]
        return req

    assert [download(request()).status_code for _ in range(2)] == [200, 200]
    refused = download(request())
    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    assert "downloaded 2 token files in the last minute" in refused.content.decode()
    assert len(calls) == 2


def consume_at_once(
    *, threads_count: int, manufacturer: Manufacturer, users: list[User], now: float
) -> tuple[int, int]:
    """``threads_count`` attempts released together, by ``users`` in turn; (allowed, refused)."""
    released = barrier(threads_count)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def attempt(user: User) -> None:
        try:
            released.wait()
            try:
                rate_limit_consume(action=TAKE, manufacturer=manufacturer, user=user, now=now)
                allowed = True
            except AccountError:
                allowed = False
            with lock:
                outcomes.append(allowed)
        finally:
            connection.close()

    run_in_threads(
        [functools.partial(attempt, users[n % len(users)]) for n in range(threads_count)]
    )
    return outcomes.count(True), outcomes.count(False)


@pytest.mark.django_db(transaction=True)
def test_simultaneous_attempts_from_many_workers_are_counted_exactly(settings: Any) -> None:
    """Real threads, each with its own database connection, against the real Redis: per user
    (one user, limit 7) and per manufacturer (four users, limit 9)."""
    manufacturer = ManufacturerFactory(name="Concurrent Co")
    users = [UserFactory(username=f"concurrent-{n}", manufacturer=manufacturer) for n in range(4)]
    settings.RATE_LIMITS = limits(user=7, manufacturer=1_000)
    for round_number in range(3):
        now = NOW + 60 * round_number
        reset(manufacturer, *users, now=now)
        assert consume_at_once(
            threads_count=20, manufacturer=manufacturer, users=users[:1], now=now
        ) == (7, 13)
    settings.RATE_LIMITS = limits(user=1_000, manufacturer=9)
    now = NOW + 60 * 3
    reset(manufacturer, *users, now=now)
    assert consume_at_once(threads_count=20, manufacturer=manufacturer, users=users, now=now) == (
        9,
        11,
    )
    assert AuditEvent.objects.filter(action="ratelimit.exceeded").count() == 4


@pytest.mark.django_db
@pytest.mark.usefixtures("small_limits")
def test_downloads_past_the_limit_are_refused_by_the_download_view(
    acme_client: Client, acme: Manufacturer, acme_user: User, seed_order: PurchaseOrder
) -> None:
    reset(acme, acme_user)
    delivery = take(seed_order, acme_user, 3).delivery
    url = reverse("tokens:download", args=[delivery.pk])
    assert [acme_client.get(url).status_code for _ in range(2)] == [409, 409]  # not ready yet
    refused = acme_client.get(url, headers={"Accept-Language": "en"})
    assert refused.status_code == 429
    assert "downloaded 2 token files in the last minute" in refused.content.decode()
    assert AuditEvent.objects.filter(action="ratelimit.exceeded", manufacturer=acme).count() == 1


def take_through_the_view(client: Client, order: PurchaseOrder) -> Callable[..., HttpResponse]:
    """A function posting the Initiate new delivery form: a fresh key unless one is given."""
    url = reverse("deliveries:initiate", args=[order.number])
    product = order.products.order_by("pk").first()
    assert product is not None

    def post(quantity: str = "1", key: str | None = None) -> HttpResponse:
        if key is None:
            key = form_key(client.get(url))
        data = {"product": product.pk, "quantity": quantity, "idempotency_key": key}
        response: HttpResponse = client.post(
            url, data, headers={"HX-Request": "true", "Accept-Language": "en"}
        )
        assert response.status_code == 200
        return response

    return post


@pytest.mark.django_db
@pytest.mark.usefixtures("small_limits")
def test_takes_past_the_limit_get_a_message_and_take_nothing(
    acme_client: Client, acme: Manufacturer, acme_user: User, seed_order: PurchaseOrder
) -> None:
    reset(acme, acme_user)
    post = take_through_the_view(acme_client, seed_order)
    for _ in range(3):
        post()
    assert NewDelivery.objects.filter(order=seed_order).count() == 3
    refused = post()
    assert "you have made 3 take delivery attempts in the last minute" in refused.content.decode()
    assert NewDelivery.objects.filter(order=seed_order).count() == 3
    seed_order.refresh_from_db()
    assert seed_order.new_tokens_delivered == 3
    event = AuditEvent.objects.get(action="ratelimit.exceeded")
    assert (event.manufacturer, event.ip_address) == (acme, "127.0.0.1")


@pytest.mark.django_db
@pytest.mark.usefixtures("small_limits")
def test_the_take_view_counts_neither_replays_nor_refused_input(
    acme_client: Client, acme: Manufacturer, acme_user: User, seed_order: PurchaseOrder
) -> None:
    """Through the view's decorator: with a limit of 3 a minute, a take sent again with its key
    and takes the rules refuse leave the count alone; three new takes use it up."""
    reset(acme, acme_user)
    post = take_through_the_view(acme_client, seed_order)
    key = form_key(acme_client.get(reverse("deliveries:initiate", args=[seed_order.number])))
    assert " taken: 1 new token" in post("1", key).content.decode()
    for _ in range(4):
        assert "already submitted" in post("1", key).content.decode()
        assert "Too many attempts" not in post("100000").content.decode()
    for _ in range(2):
        assert " taken: 1 new token" in post().content.decode()
    assert "you have made 3 take delivery attempts" in post().content.decode()
    assert NewDelivery.objects.filter(order=seed_order).count() == 3


@pytest.mark.django_db
def test_a_person_makes_40_attempts_in_two_minutes_but_a_script_is_refused(
    acme_client: Client,
    acme: Manufacturer,
    acme_user: User,
    seed_order: PurchaseOrder,
    settings: Any,
    clock: FrozenClock,
) -> None:
    """With the shipped defaults: valid, invalid and replayed attempts of a person who corrects
    entries pass; a script taking at 2,000 attempts a minute is stopped with a message."""
    settings.RATE_LIMITS = base.RATE_LIMITS
    assert base.RATE_LIMITS[TAKE]["user"] >= 60
    assert base.RATE_LIMITS[TAKE]["manufacturer"] >= 600
    reset(acme, acme_user)
    reset(acme, acme_user, now=NOW + 60)
    post = take_through_the_view(acme_client, seed_order)
    initiate = reverse("deliveries:initiate", args=[seed_order.number])
    kinds = ["valid", "too many", "not a number", "replayed"]
    key = ""
    for attempt in range(40):
        clock.now = NOW + attempt * 2.5  # 40 attempts within 100 seconds, over two windows
        kind = kinds[attempt % 4]
        if kind == "valid":
            key = form_key(acme_client.get(initiate))
            assert " taken: 1 new token" in post("1", key).content.decode()
        elif kind == "replayed":
            assert "already submitted" in post("1", key).content.decode()
        else:
            post("100000" if kind == "too many" else "abc")
    assert NewDelivery.objects.filter(order=seed_order).count() == 10
    assert not AuditEvent.objects.filter(action="ratelimit.exceeded").exists()

    # A script: one valid take every 30 ms (2,000 a minute) from the start of a fresh window.
    script_start = NOW + 160
    reset(acme, acme_user, now=script_start)
    for attempt in range(200):
        clock.now = script_start + attempt * 0.03
        text = post().content.decode()
        if "Too many attempts" in text:
            break
    else:
        pytest.fail("2,000 attempts a minute were never refused")
    assert attempt == base.RATE_LIMITS[TAKE]["user"]
    assert "you have made 60 take delivery attempts in the last minute" in text
    assert NewDelivery.objects.filter(order=seed_order).count() == 10 + 60


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.django_db
@pytest.mark.usefixtures("small_limits")
def test_with_the_cache_unreachable_the_limits_fail_open_with_a_warning(
    acme: Manufacturer, acme_user: User, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        }
    }
    with caplog.at_level(logging.WARNING, logger="accounts.ratelimit"):
        for _ in range(5):
            with rate_limit_attempt(action=TAKE, manufacturer=acme, user=acme_user) as attempt:
                attempt.refund()
            rate_limit_consume(action=TAKE, manufacturer=acme, user=acme_user)
    assert "the cache is unreachable" in caplog.text
    assert not AuditEvent.objects.filter(action="ratelimit.exceeded").exists()
