"""A stateful random test of every writer of the quota at once (hypothesis): each step runs a
few operations drawn at random (takes, admin saves, original deliveries, reversals, voids,
file made and downloaded) from as many threads, released together, against PostgreSQL; after
every step the invariants (``check_invariants``) must hold."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from functools import partial

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, settings, strategies
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from accounts.models import Manufacturer, User
from deliveries.errors import DeliveryError
from deliveries.models import NewDelivery
from deliveries.services import new_delivery_take, new_delivery_void
from orders.errors import OrderError
from orders.models import OriginalDelivery
from orders.services import original_delivery_record, original_delivery_reverse
from refurb_portal.invariants import invariant_violations
from tests.admin_forms import form_data, form_fields
from tests.conftest import delivered_license_order, login_verified
from tests.threads import barrier, run_in_threads
from tests.tokens.conftest import _remove_token_files
from tokens.errors import TokenFileError
from tokens.generation import token_file_generate
from tokens.models import TokenFile
from tokens.services import token_file_download_record

__all__ = ["_remove_token_files"]

OPERATIONS = ["take", "admin_save", "original", "reverse", "void", "download"]
REFUSALS = (DeliveryError, OrderError, TokenFileError)


class QuotaWriters(RuleBasedStateMachine):
    """One order per run of the machine; each rule is one step of concurrent operations."""

    manufacturer: Manufacturer
    user: User
    staff: User

    def __init__(self) -> None:
        super().__init__()
        self.order = delivered_license_order(
            self.manufacturer, ordered=400, delivered=100, number=f"PO-{uuid.uuid4().hex[:10]}"
        )
        self.product_id = self.order.products.order_by("pk").values_list("pk", flat=True)[0]
        self.client = Client()
        login_verified(self.client, self.staff)
        self.errors: list[BaseException] = []

    # --- the operations, each on its own connection --------------------------------------

    def take(self, rng: random.Random) -> None:
        new_delivery_take(
            order_id=self.order.pk,
            product_id=self.product_id,
            quantity=rng.randint(1, 60),
            user=self.user,
            idempotency_key=uuid.uuid4(),
        )

    def admin_save(self, rng: random.Random) -> None:
        url = reverse("admin:orders_purchaseorder_change", args=[self.order.pk])
        data = form_data(form_fields(self.client.get(url).content.decode(), "purchaseorder_form"))
        field = rng.choice(["contract_number", "quantity_ordered"])
        data[field] = [
            f"CT-{rng.randint(0, 999)}" if field == "contract_number" else str(rng.randint(50, 400))
        ]
        response = self.client.post(url, {**data, "_save": ["Save"]})
        assert response.status_code in {200, 302}, response.status_code

    def original(self, rng: random.Random) -> None:
        original_delivery_record(order_id=self.order.pk, quantity=rng.randint(1, 80), user=None)

    def reverse(self, rng: random.Random) -> None:
        ids = list(
            OriginalDelivery.objects.filter(order=self.order, reversed_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
        if ids:
            original_delivery_reverse(
                original_delivery_id=rng.choice(ids), user=self.staff, reason="random reversal"
            )

    def void(self, rng: random.Random) -> None:
        ids = list(
            NewDelivery.objects.filter(order=self.order, voided_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
        if ids:
            new_delivery_void(delivery_id=rng.choice(ids), user=self.user, reason="random void")

    def download(self, rng: random.Random) -> None:
        files = list(
            TokenFile.objects.filter(delivery__order=self.order)
            .exclude(status=TokenFile.Status.VOIDED)
            .values_list("pk", flat=True)
        )
        if files:
            token_file = token_file_generate(token_file_id=rng.choice(files))
            if token_file is not None and token_file.status == TokenFile.Status.READY:
                token_file_download_record(token_file=token_file, user=self.user)

    # --- one step ---------------------------------------------------------------------------

    def _run(
        self, operation: Callable[[random.Random], None], seed: int, start: threading.Barrier
    ) -> None:
        try:
            start.wait()
            operation(random.Random(seed))
        except REFUSALS:
            pass  # a refusal with its message is a correct answer; the invariants judge
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            connection.close()

    @rule(
        operations=strategies.lists(strategies.sampled_from(OPERATIONS), min_size=2, max_size=4),
        seed=strategies.integers(0, 2**32 - 1),
    )
    def step(self, operations: list[str], seed: int) -> None:
        start = barrier(len(operations))
        run_in_threads(
            [
                partial(self._run, getattr(self, name), seed + index, start)
                for index, name in enumerate(operations)
            ]
        )
        assert self.errors == []

    @invariant()
    def invariants_hold(self) -> None:
        assert invariant_violations() == []
        self.order.refresh_from_db()
        assert 0 <= self.order.new_tokens_delivered <= self.order.quantity_delivered


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_every_invariant(
    acme: Manufacturer, acme_user: User, staff_user: User
) -> None:
    QuotaWriters.manufacturer = acme
    QuotaWriters.user = acme_user
    QuotaWriters.staff = staff_user
    run_state_machine_as_test(
        QuotaWriters,
        settings=settings(
            max_examples=6,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
