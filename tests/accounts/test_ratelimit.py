"""Abuse limits per manufacturer, counted in Redis in fixed windows."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.errors import AccountError
from accounts.models import Manufacturer, User
from accounts.ratelimit import rate_limit_consume, rate_limit_reset, rate_limited
from audit.models import AuditEvent
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from tests.deliveries.conftest import take
from tests.factories import ManufacturerFactory, UserFactory
from tests.threads import barrier, run_in_threads

TAKE = "delivery.take"
# A fixed instant in the middle of a window, so no test straddles a window boundary.
NOW = 1_900_000_040.0  # 20 s into its minute


@pytest.fixture
def limits(settings: Any) -> None:
    settings.RATE_LIMITS = {TAKE: (3, 60), "tokens.download": (2, 60)}


@pytest.mark.django_db
@pytest.mark.usefixtures("limits")
def test_the_limit_refuses_the_next_take_with_a_clear_message(
    acme: Manufacturer, acme_user: User
) -> None:
    rate_limit_reset(action=TAKE, manufacturer=acme, now=NOW)
    remaining = [
        rate_limit_consume(action=TAKE, manufacturer=acme, user=acme_user, now=NOW)
        for _ in range(3)
    ]
    assert remaining == [2, 1, 0]
    with pytest.raises(AccountError) as refused:
        rate_limit_consume(action=TAKE, manufacturer=acme, user=acme_user, now=NOW + 10)
    assert refused.value.message == (
        "Your company has taken 3 deliveries in the last minute, the most allowed. "
        "Please wait 30 seconds and try again."
    )
    # Refused again: audited once per window, so hammering cannot flood the trail.
    with pytest.raises(AccountError):
        rate_limit_consume(action=TAKE, manufacturer=acme, user=acme_user, now=NOW + 11)
    event = AuditEvent.objects.get(action="ratelimit.exceeded")
    assert (event.actor, event.manufacturer, event.details) == (
        acme_user,
        acme,
        {"limited": TAKE, "limit": 3, "window_seconds": 60},
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("limits")
def test_each_manufacturer_and_action_has_its_own_count_and_windows_roll(
    acme: Manufacturer, globex: Manufacturer
) -> None:
    for m in (acme, globex):
        rate_limit_reset(action=TAKE, manufacturer=m, now=NOW)
        rate_limit_reset(action="tokens.download", manufacturer=m, now=NOW)
    rate_limit_reset(action=TAKE, manufacturer=acme, now=NOW + 60)
    for _ in range(3):
        rate_limit_consume(action=TAKE, manufacturer=acme, now=NOW)
    with pytest.raises(AccountError):
        rate_limit_consume(action=TAKE, manufacturer=acme, now=NOW)
    assert rate_limit_consume(action=TAKE, manufacturer=globex, now=NOW) == 2
    assert rate_limit_consume(action="tokens.download", manufacturer=acme, now=NOW) == 1
    assert rate_limit_consume(action=TAKE, manufacturer=acme, now=NOW + 60) == 2  # next minute


@pytest.mark.django_db
@pytest.mark.usefixtures("limits")
def test_the_view_decorator_answers_429_and_skips_the_view(
    acme: Manufacturer, acme_user: User
) -> None:
    rate_limit_reset(action="tokens.download", manufacturer=acme)
    calls: list[int] = []

    @rate_limited("tokens.download")
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
    assert int(refused["Retry-After"]) >= 1
    assert "downloaded 2 token files in the last minute" in refused.content.decode()
    assert len(calls) == 2


def take_at_once(
    *, threads_count: int, manufacturer: Manufacturer, user: User, now: float
) -> tuple[int, int]:
    """``threads_count`` takes released together; returns (allowed, refused)."""
    released = barrier(threads_count)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def take() -> None:
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

    run_in_threads([take] * threads_count)
    return outcomes.count(True), outcomes.count(False)


@pytest.mark.django_db(transaction=True)
def test_simultaneous_takes_from_many_workers_are_counted_exactly(settings: Any) -> None:
    """Real threads, each with its own database connection, against the real Redis."""
    settings.RATE_LIMITS = {TAKE: (7, 60)}
    manufacturer = ManufacturerFactory(name="Concurrent Co")
    user = UserFactory(username="concurrent", manufacturer=manufacturer)
    for round_number in range(3):
        now = NOW + 60 * round_number
        rate_limit_reset(action=TAKE, manufacturer=manufacturer, now=now)
        assert take_at_once(threads_count=20, manufacturer=manufacturer, user=user, now=now) == (
            7,
            13,
        )
    assert AuditEvent.objects.filter(action="ratelimit.exceeded").count() == 3


@pytest.mark.django_db
@pytest.mark.usefixtures("limits")
def test_downloads_past_the_limit_are_refused_by_the_download_view(
    acme_client: Client, acme: Manufacturer, acme_user: User, seed_order: PurchaseOrder
) -> None:
    rate_limit_reset(action="tokens.download", manufacturer=acme)
    delivery = take(seed_order, acme_user, 3).delivery
    url = reverse("tokens:download", args=[delivery.pk])
    assert [acme_client.get(url).status_code for _ in range(2)] == [409, 409]  # not ready yet
    refused = acme_client.get(url)
    assert refused.status_code == 429
    assert "downloaded 2 token files in the last minute" in refused.content.decode()
    assert AuditEvent.objects.filter(action="ratelimit.exceeded", manufacturer=acme).count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("limits")
def test_takes_past_the_limit_get_a_message_and_take_nothing(
    acme_client: Client, acme: Manufacturer, seed_order: PurchaseOrder
) -> None:
    rate_limit_reset(action=TAKE, manufacturer=acme)
    url = reverse("deliveries:initiate", args=[seed_order.number])
    product = seed_order.products.order_by("pk").first()
    assert product is not None

    def take() -> Any:
        key = acme_client.get(url).context["form"]["idempotency_key"].value()
        data = {"product": product.pk, "quantity": "1", "idempotency_key": key}
        return acme_client.post(url, data, headers={"HX-Request": "true"})

    assert [take().status_code for _ in range(3)] == [200, 200, 200]
    assert NewDelivery.objects.filter(order=seed_order).count() == 3
    refused = take()
    assert "Your company has taken 3 deliveries in the last minute" in refused.content.decode()
    assert NewDelivery.objects.filter(order=seed_order).count() == 3
    seed_order.refresh_from_db()
    assert seed_order.new_tokens_delivered == 3
    event = AuditEvent.objects.get(action="ratelimit.exceeded")
    assert (event.manufacturer, event.ip_address) == (acme, "127.0.0.1")
