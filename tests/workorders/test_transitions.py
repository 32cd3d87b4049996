"""The transition table, exercised through the service for every (from, to, side)."""

from __future__ import annotations

import itertools

import pytest

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from tests.factories import WorkOrderFactory
from workorders.errors import WorkOrderError
from workorders.models import WorkOrder, WorkOrderTransition
from workorders.services import work_order_transition
from workorders.transitions import TRANSITIONS, Side, allowed_targets, is_allowed

pytestmark = pytest.mark.django_db
Status = WorkOrder.Status

ALL_MOVES = [
    (from_status, to_status, side)
    for from_status, to_status in itertools.product(Status.values, Status.values)
    for side in Side
]


def actor_for(side: Side, acme_user: User, staff_user: User) -> User:
    return staff_user if side is Side.STAFF else acme_user


@pytest.mark.parametrize(("from_status", "to_status", "side"), ALL_MOVES)
def test_the_service_follows_the_table_for_every_move(
    acme: Manufacturer,
    acme_user: User,
    staff_user: User,
    from_status: str,
    to_status: str,
    side: Side,
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme, submitted_by=acme_user, status=from_status)
    user = actor_for(side, acme_user, staff_user)
    if side in TRANSITIONS.get((from_status, to_status), frozenset()):
        transition = work_order_transition(
            work_order_id=work_order.pk, user=user, side=side, to_status=to_status
        )
        work_order.refresh_from_db()
        assert work_order.status == to_status
        assert (transition.from_status, transition.to_status) == (from_status, to_status)
        assert transition.actor == user
        assert transition.by_staff is (side is Side.STAFF)
        assert AuditEvent.objects.filter(
            action="workorders.status_changed", object_id=str(work_order.pk)
        ).exists()
    else:
        with pytest.raises(WorkOrderError) as info:
            work_order_transition(
                work_order_id=work_order.pk, user=user, side=side, to_status=to_status
            )
        assert info.value.code == "transition_not_allowed"
        work_order.refresh_from_db()
        assert work_order.status == from_status
        assert not WorkOrderTransition.objects.filter(work_order=work_order).exists()
        assert AuditEvent.objects.filter(action="workorders.transition_refused").count() == 1


def test_closed_to_processing_by_the_manufacturer_is_refused_with_a_clear_message(
    acme: Manufacturer, acme_user: User
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme, submitted_by=acme_user, status=Status.CLOSED)
    with pytest.raises(
        WorkOrderError, match="A work order whose status is “Closed” cannot be set to “Processing”"
    ):
        work_order_transition(
            work_order_id=work_order.pk,
            user=acme_user,
            side=Side.MANUFACTURER,
            to_status=Status.PROCESSING,
        )


def test_closed_is_final_for_everyone() -> None:
    for side in Side:
        assert allowed_targets(from_status=Status.CLOSED, side=side) == []


def test_only_the_manufacturer_confirms_and_staff_cannot_complete() -> None:
    assert [pair for pair, sides in TRANSITIONS.items() if pair[1] == Status.COMPLETED] == [
        (Status.AWAITING_CONFIRMATION, Status.COMPLETED)
    ]
    assert not is_allowed(
        from_status=Status.AWAITING_CONFIRMATION, to_status=Status.COMPLETED, side=Side.STAFF
    )


def test_the_manufacturer_may_only_confirm_close_or_give_feedback() -> None:
    manufacturer_targets = {
        to_status for (_from, to_status), sides in TRANSITIONS.items() if Side.MANUFACTURER in sides
    }
    assert manufacturer_targets == {Status.COMPLETED, Status.CLOSED, Status.PROCESSING}


def test_a_manufacturer_cannot_move_another_manufacturers_work_order(
    acme: Manufacturer, globex_user: User
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme, status=Status.AWAITING_CONFIRMATION)
    with pytest.raises(WorkOrderError) as info:
        work_order_transition(
            work_order_id=work_order.pk,
            user=globex_user,
            side=Side.MANUFACTURER,
            to_status=Status.COMPLETED,
        )
    assert info.value.code == "not_permitted"
    work_order.refresh_from_db()
    assert work_order.status == Status.AWAITING_CONFIRMATION


def test_a_manufacturer_user_cannot_act_as_staff(acme: Manufacturer, acme_user: User) -> None:
    work_order = WorkOrderFactory(manufacturer=acme, submitted_by=acme_user)
    with pytest.raises(WorkOrderError) as info:
        work_order_transition(
            work_order_id=work_order.pk,
            user=acme_user,
            side=Side.STAFF,
            to_status=Status.PROCESSING,
        )
    assert info.value.code == "not_permitted"
