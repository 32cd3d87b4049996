"""Races on one work order, with real transactions and threads (no mocks)."""

from __future__ import annotations

import functools
import itertools
import uuid
from collections.abc import Callable

import pytest
from django.db import connection

from accounts.models import Manufacturer, User
from tests.factories import UserFactory, WorkOrderFactory
from tests.threads import barrier, run_in_threads
from workorders.errors import WorkOrderError
from workorders.models import WorkOrder
from workorders.services import work_order_close, work_order_confirm, work_order_submit
from workorders.transitions import Side

Status = WorkOrder.Status
ROUNDS = 10


def race(*actions: Callable[[], object]) -> list[str]:
    """Run the actions at the same moment, each on its own connection; their outcomes."""
    released = barrier(len(actions))
    outcomes: list[str] = []

    def run(action: Callable[[], object]) -> None:
        try:
            released.wait()
            action()
            outcomes.append("ok")
        except WorkOrderError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    run_in_threads([functools.partial(run, action) for action in actions])
    return sorted(outcomes)


def awaiting_confirmation(user: User) -> tuple[WorkOrder, Callable[[], object]]:
    """A work order waiting for ``user``'s confirmation, and the click that confirms it."""
    work_order = WorkOrderFactory(
        manufacturer=user.manufacturer, submitted_by=user, status=Status.AWAITING_CONFIRMATION
    )

    def confirm() -> object:
        return work_order_confirm(work_order_id=work_order.pk, user=user)

    return work_order, confirm


@pytest.mark.django_db(transaction=True)
def test_two_confirm_clicks_complete_once(acme: Manufacturer) -> None:
    user = UserFactory(username="acme", manufacturer=acme)
    for _round in range(ROUNDS):
        work_order, confirm = awaiting_confirmation(user)

        # The second click finds the work order completed: the same request, answered alike.
        assert race(confirm, confirm) == ["ok", "ok"]
        work_order.refresh_from_db()
        assert work_order.status == Status.COMPLETED
        assert work_order.transitions.count() == 1


@pytest.mark.django_db(transaction=True)
def test_confirm_and_close_at_once_leave_a_consistent_history(acme: Manufacturer) -> None:
    """Either order is allowed (confirm then close, or close then a refused confirm); the
    history always chains: each change starts from the status the previous one left."""
    user = UserFactory(username="acme", manufacturer=acme)
    for _round in range(ROUNDS):
        work_order, confirm = awaiting_confirmation(user)

        def close(pk: int = work_order.pk) -> object:
            return work_order_close(work_order_id=pk, user=user, side=Side.MANUFACTURER)

        outcomes = race(confirm, close)
        work_order.refresh_from_db()
        assert work_order.status == Status.CLOSED
        chain = list(work_order.transitions.order_by("occurred_at", "id"))
        assert chain[0].from_status == Status.AWAITING_CONFIRMATION
        for earlier, later in itertools.pairwise(chain):
            assert later.from_status == earlier.to_status
        assert outcomes in (["ok", "ok"], ["ok", "transition_not_allowed"])


@pytest.mark.django_db(transaction=True)
def test_a_form_submitted_twice_at_once_makes_one_work_order(acme: Manufacturer) -> None:
    user: User = UserFactory(username="acme", manufacturer=acme)
    for _round in range(ROUNDS):
        key = uuid.uuid4()

        def send(key: uuid.UUID = key) -> object:
            return work_order_submit(
                user=user,
                work_order_type=WorkOrder.Type.TOOL,
                order=None,
                description="Please send the tool.",
                contact="Jane",
                submission_key=key,
            )

        assert race(send, send) == ["ok", "ok"]
        assert WorkOrder.objects.filter(submission_key=key).count() == 1
