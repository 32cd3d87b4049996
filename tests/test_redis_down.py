"""Redis down (the cache and the broker both unreachable): the portal keeps working.

The app in this process is pointed at a closed port for both; Redis itself is never touched.
A take is recorded and shown as pending, downloads of ready files work, no answer is a 5xx, and
once Redis is back the sweeper (run by a real worker) has the file made.
"""

from __future__ import annotations

import logging
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from tests.celery_worker import CeleryWorker, broker_unreachable, celery_worker_factory
from tests.deliveries.conftest import form_key
from tests.threads import HANG_TIMEOUT_SECONDS
from tests.tokens.conftest import file_of, take
from tokens.generation import token_file_generate
from tokens.models import TokenFile
from tokens.relay import token_file_relay_send
from tokens.tasks import token_file_generate as token_file_generate_task
from tokens.tasks import token_file_sweep as token_file_sweep_task

__all__ = ["celery_worker_factory"]

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _remove_token_files() -> Iterator[None]:
    yield
    shutil.rmtree(django_settings.PRIVATE_STORAGE_ROOT / "token-files", ignore_errors=True)


@contextmanager
def cache_unreachable(settings: Any) -> Iterator[None]:
    """Point the cache at a port where nothing listens (Django rebuilds its cache handles)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    saved = settings.CACHES
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }
    try:
        yield
    finally:
        settings.CACHES = saved


def test_with_redis_down_takes_are_pending_downloads_work_and_nothing_is_a_5xx(
    celery_worker_factory: Callable[..., CeleryWorker],
    seed_order: PurchaseOrder,
    acme_user: User,
    acme_client: Client,
    settings: Any,
) -> None:
    ready = file_of(take(seed_order, acme_user, 5))
    token_file_generate(token_file_id=ready.pk)
    initiate = reverse("deliveries:initiate", args=[seed_order.number])
    statuses: list[int] = []

    def get(url: str) -> bytes:
        response = acme_client.get(url, headers={"Accept-Language": "en"})
        statuses.append(response.status_code)
        if response.streaming:
            return b"".join(response.streaming_content)  # type: ignore[arg-type]
        return response.content

    with cache_unreachable(settings), broker_unreachable():
        product = seed_order.products.order_by("pk").first()
        assert product is not None
        key = form_key(acme_client.get(initiate))
        for headers in ({"HX-Request": "true"}, {}):  # with HTMX, and a plain form post
            response = acme_client.post(
                initiate,
                {"product": product.pk, "quantity": "7", "idempotency_key": key},
                headers={**headers, "Accept-Language": "en"},
            )
            statuses.append(response.status_code)
        delivery = NewDelivery.objects.get(order=seed_order, quantity=7)  # once: the key
        assert file_of(delivery).status == TokenFile.Status.PENDING
        page = get(reverse("deliveries:order_delivery_list", args=[seed_order.number])).decode()
        assert delivery.number in page
        assert "Pending" in page
        get(reverse("orders:purchase_order_list"))
        get(initiate)
        downloaded = get(reverse("tokens:download", args=[ready.delivery_id]))
    assert len(statuses) == 6
    assert max(statuses) < 500, statuses
    assert statuses[-1] == 200  # the download of the ready file
    assert len(downloaded) > 100

    # Redis is back: beat's next sweep (its task, run by the worker) has the job made.
    worker = celery_worker_factory(env={"TOKEN_FILE_RESEND_AFTER_SECONDS": "0"})
    token_file_sweep_task.delay()
    deadline = time.monotonic() + HANG_TIMEOUT_SECONDS  # bounds a hang, measures nothing
    while file_of(delivery).status != TokenFile.Status.READY:
        assert time.monotonic() < deadline, worker.log()[-4000:]
        time.sleep(0.2)
    assert acme_client.get(reverse("tokens:download", args=[delivery.pk])).status_code == 200


def test_with_the_relay_a_take_never_reaches_for_the_broker(
    celery_worker_factory: Callable[..., CeleryWorker],
    seed_order: PurchaseOrder,
    acme_client: Client,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.TOKEN_FILE_RELAY = True
    initiate = reverse("deliveries:initiate", args=[seed_order.number])
    product = seed_order.products.order_by("pk").first()
    assert product is not None
    sends: list[object] = []
    with (
        cache_unreachable(settings),
        broker_unreachable(),
        monkeypatch.context() as patch,
        caplog.at_level(logging.WARNING),
    ):
        patch.setattr(token_file_generate_task, "delay", lambda *args: sends.append(args))
        key = form_key(acme_client.get(initiate))
        response = acme_client.post(
            initiate, {"product": product.pk, "quantity": "3", "idempotency_key": key}
        )
    assert response.status_code == 302
    delivery = NewDelivery.objects.get(order=seed_order, quantity=3)
    token_file = file_of(delivery)
    assert (token_file.status, token_file.enqueued_at) == (TokenFile.Status.PENDING, None)
    assert sends == []
    assert "Broker unreachable" not in caplog.text

    # Redis is back: the relay sends the job, a worker makes it.
    worker = celery_worker_factory()
    assert token_file_relay_send().sent == [token_file.pk]
    deadline = time.monotonic() + HANG_TIMEOUT_SECONDS  # bounds a hang, measures nothing
    while file_of(delivery).status != TokenFile.Status.READY:
        assert time.monotonic() < deadline, worker.log()[-4000:]
        time.sleep(0.2)
