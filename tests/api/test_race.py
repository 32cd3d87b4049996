"""50 API takes at the same moment with 10 idempotency keys: exactly 10 deliveries (R8, R9).

Real threads, each with its own PostgreSQL connection, released together by a barrier; the
order row lock and the key lookup behind it are all that keep them apart.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from orders.selectors import order_counters_from_rows
from tests.api.conftest import make_key
from tests.conftest import delivered_license_order
from tokens.models import TokenFile

TAKES = 50
KEYS = 10
QUANTITY = 7
JOIN_TIMEOUT = 60.0


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_api_takes_with_ten_keys_make_ten_deliveries(acme_user: User) -> None:
    assert acme_user.manufacturer is not None
    order = delivered_license_order(acme_user.manufacturer, number="LIC-RACE-0001")
    product = order.products.order_by("pk").first()
    assert product is not None
    key = make_key(acme_user, ["take"])
    url = f"/api/v1/orders/{order.number}/deliveries"
    barrier = threading.Barrier(TAKES)
    answers: list[Any] = [None] * TAKES

    def take(index: int) -> None:
        try:
            client = Client()
            barrier.wait(timeout=JOIN_TIMEOUT)
            response = client.post(
                url,
                {"product_id": product.product_id, "quantity": QUANTITY},
                content_type="application/json",
                headers={
                    "Authorization": f"Bearer {key}",
                    "Idempotency-Key": f"mes-batch-{index % KEYS}",
                },
            )
            answers[index] = (
                response.status_code,
                response.json().get("id"),
                response.get("Idempotent-Replayed"),
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(i,)) for i in range(TAKES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a take hung"

    assert Counter(status for status, _id, _replayed in answers) == {201: TAKES}
    assert sum(1 for _s, _i, replayed in answers if replayed == "true") == TAKES - KEYS
    # Every caller of one key got the same delivery.
    by_key: dict[int, set[int]] = {}
    for index, (_status, delivery_id, _replayed) in enumerate(answers):
        by_key.setdefault(index % KEYS, set()).add(delivery_id)
    assert all(len(ids) == 1 for ids in by_key.values())
    assert len({next(iter(ids)) for ids in by_key.values()}) == KEYS

    # Invariants: the counter is the sum of the deliveries, each with one file job (R2, R8).
    order = PurchaseOrder.objects.get(pk=order.pk)
    assert NewDelivery.objects.filter(order=order).count() == KEYS
    assert order.new_tokens_delivered == KEYS * QUANTITY
    assert order_counters_from_rows(order_id=order.pk) == (
        order.quantity_delivered,
        order.new_tokens_delivered,
    )
    assert TokenFile.objects.filter(delivery__order=order).count() == KEYS
    sequences = sorted(NewDelivery.objects.filter(order=order).values_list("sequence", flat=True))
    assert sequences == list(range(1, KEYS + 1))
