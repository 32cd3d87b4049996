"""Property-based tests of the whole API against its own served schema (schemathesis).

Every operation is called with data generated from the schema, as Acme with a key holding every
scope, and each answer must be no server error, a documented status code, the documented
content type and a body matching the documented schema. A stateful run follows the schema's
links (list an order, show it, take a delivery on it, show and download that delivery; submit a
work order, show it, reply). Example counts are bounded so that both stay within about a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from tests.api.conftest import make_key
from tests.conftest import delivered_license_order
from workorders.models import WorkOrder

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SETTINGS = hypothesis.settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)


@pytest.fixture
def api_schema(acme_user: User, seed_order: PurchaseOrder, settings: Any) -> Iterator[Any]:
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]  # schemathesis's WSGI client's host
    assert acme_user.manufacturer is not None
    # Room for any quantity the generator picks up to 2e9 (the counters are 32-bit), so that
    # takes reached through the links can succeed and be followed further.
    delivered_license_order(
        acme_user.manufacturer,
        number="LIC-2026-0002",
        ordered=2_000_000_000,
        delivered=2_000_000_000,
    )
    # In-process, inside the test's transaction: as Django's test client does, requests must
    # not close the database connection when they end.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())
        schema.config.update(headers={"Authorization": f"Bearer {make_key(acme_user)}"})
        yield schema
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_every_operation_keeps_its_schema(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 12
    for operation in operations:

        @SETTINGS
        @hypothesis.given(case=operation.as_strategy())
        def call(case: Any) -> None:
            case.call_and_validate(checks=CHECKS)

        call()


@pytest.mark.django_db
def test_stateful_walks_along_the_links(api_schema: Any, acme_user: User) -> None:
    workflow = api_schema.as_state_machine()

    class Walk(workflow):  # type: ignore[misc,valid-type]
        # Each walk starts from the same rows: hypothesis replays a walk to shrink it, and a
        # walk that found the quota spent by earlier walks would take other paths on the replay
        # (FlakyStrategyDefinition). A savepoint per walk, rolled back at its end.
        def setup(self) -> None:
            self.savepoint = transaction.savepoint_create()

        def teardown(self) -> None:
            transaction.savepoint_rollback(self.savepoint)

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    taken: list[int] = []
    submitted: list[int] = []

    class CountingWalk(Walk):
        def teardown(self) -> None:
            # What the walk made, counted before its savepoint is rolled back.
            taken.append(NewDelivery.objects.filter(order__manufacturer__users=acme_user).count())
            submitted.append(WorkOrder.objects.count())
            super().teardown()

    CountingWalk.run(
        settings=hypothesis.settings(SETTINGS, max_examples=60, stateful_step_count=10)
    )
    # The links were followed: a take used a product found by showing an order.
    assert max(taken) > 0
    assert max(submitted) > 0
