"""Who is told of a work order's changes: one mechanism, the notifications app fed by the audit
trail. Each change makes one email per recipient, after the commit, and each kind follows the
recipient's switches on the Settings page."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.core.mail import EmailMessage

from accounts.models import Manufacturer, User
from notifications import kinds
from notifications.models import EmailNotice, Notice, NotificationPreference
from tests.factories import StaffUserFactory, UserFactory, WorkOrderFactory
from tests.workorders.conftest import submit
from workorders.errors import WorkOrderError
from workorders.models import WorkOrder
from workorders.services import (
    work_order_assign,
    work_order_confirm,
    work_order_reply,
    work_order_tool_attach,
    work_order_transition,
)
from workorders.transitions import Side

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]
Status = WorkOrder.Status
Capture = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


@pytest.fixture
def people(acme: Manufacturer, globex: Manufacturer) -> dict[str, User]:
    """Two acme users, one inactive; globex; two staff, one inactive."""
    return {
        "acme": UserFactory(username="acme", manufacturer=acme),
        "acme2": UserFactory(username="acme2", manufacturer=acme),
        "acme_gone": UserFactory(username="acme4", manufacturer=acme, is_active=False),
        "globex": UserFactory(username="globex", manufacturer=globex),
        "staff": StaffUserFactory(username="staff"),
        "support": StaffUserFactory(username="support"),
        "retired": StaffUserFactory(username="retired", is_active=False),
    }


@pytest.fixture
def work_order(people: dict[str, User]) -> WorkOrder:
    """A new acme work order (its submitter is the ``acme`` user above)."""
    acme = people["acme"]
    return WorkOrderFactory(manufacturer=acme.manufacturer, submitted_by=acme)


def told(outbox: list[EmailMessage]) -> list[tuple[str, str]]:
    """(address, subject) of every email sent, sorted."""
    return sorted((address, message.subject) for message in outbox for address in message.to)


def staff_reply(work_order: WorkOrder, staff: User, body: str, to_status: str = "") -> None:
    work_order_reply(
        work_order_id=work_order.pk, user=staff, side=Side.STAFF, body=body, to_status=to_status
    )


def test_a_submission_tells_active_staff_only_after_the_commit(
    people: dict[str, User],
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        work_order = submit(people["acme"], description="Ten WB3S modules need the tool.")
    assert mailoutbox == []  # nothing before the commit
    for callback in callbacks:
        callback()
    subject = f"New work order {work_order.number} from Acme Smart Home"
    assert told(mailoutbox) == [
        ("staff@example.com", subject),
        ("support@example.com", subject),
    ]
    body = mailoutbox[0].body
    assert f"/admin/workorders/workorder/{work_order.pk}/change/" in body
    assert "Ten WB3S modules need the tool." in body  # what they asked
    assert "Contact: Jane Doe, jane@example.com" in body


def test_a_staff_reply_sends_exactly_one_email_with_the_reply_and_its_status(
    people: dict[str, User],
    work_order: WorkOrder,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        staff_reply(work_order, people["staff"], "Which module model?", Status.AWAITING_FEEDBACK)
    # One email, to the submitter: not a second one for the status the reply brought.
    assert told(mailoutbox) == [
        ("acme@example.com", f"Work order {work_order.number}: staff replied")
    ]
    [email] = mailoutbox
    assert "Which module model?" in email.body
    assert "Status: Waiting for your feedback" in email.body
    assert f"/work-orders/{work_order.pk}/" in email.body
    assert Notice.objects.get().kind == kinds.WORK_ORDER_REPLIED
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        staff_reply(work_order, people["support"], "And its firmware?")
    assert len(mailoutbox) == 1


def test_the_companys_notification_address_is_told_too(
    people: dict[str, User],
    work_order: WorkOrder,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    Manufacturer.objects.filter(pk=work_order.manufacturer_id).update(
        notification_email="orders@acme.example"
    )
    with django_capture_on_commit_callbacks(execute=True):
        staff_reply(work_order, people["staff"], "Done.")
    assert [message.to for message in mailoutbox] == [
        ["acme@example.com"],
        ["orders@acme.example"],
    ]


def test_the_switches_govern_the_reply_email(
    people: dict[str, User],
    work_order: WorkOrder,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    NotificationPreference.objects.create(
        user=people["acme"], kind=kinds.WORK_ORDER_REPLIED, email=False, portal=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        staff_reply(work_order, people["staff"], "Which module model?", Status.AWAITING_FEEDBACK)
    assert mailoutbox == []  # no email, and no other kind's email in its place
    assert list(Notice.objects.values_list("kind", flat=True)) == [kinds.WORK_ORDER_REPLIED]
    # The choice for replies says nothing about status changes: those are still emailed.
    with django_capture_on_commit_callbacks(execute=True):
        work_order_transition(
            work_order_id=work_order.pk,
            user=people["staff"],
            side=Side.STAFF,
            to_status=Status.PROCESSING,
        )
    assert told(mailoutbox) == [
        ("acme@example.com", f"Work order {work_order.number}: the status is now “Processing”")
    ]


def test_a_status_change_by_staff_tells_the_submitter(
    people: dict[str, User],
    work_order: WorkOrder,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        work_order_transition(
            work_order_id=work_order.pk,
            user=people["staff"],
            side=Side.STAFF,
            to_status=Status.PROCESSING,
        )
    assert told(mailoutbox) == [
        ("acme@example.com", f"Work order {work_order.number}: the status is now “Processing”")
    ]
    assert Notice.objects.get().kind == kinds.WORK_ORDER_STATUS


def test_assigning_tells_the_manufacturer_of_the_new_status(
    people: dict[str, User],
    work_order: WorkOrder,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        work_order_assign(
            work_order_id=work_order.pk, assignee=people["support"], user=people["staff"]
        )
    assert [m.subject for m in mailoutbox] == [
        f"Work order {work_order.number}: the status is now “To be processed”"
    ]


def test_the_tool_is_one_email_with_its_status(
    people: dict[str, User],
    work_order: WorkOrder,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        work_order_tool_attach(
            work_order_id=work_order.pk,
            user=people["staff"],
            tool_link="https://tools.example.com/refurb.zip",
        )
    assert told(mailoutbox) == [
        ("acme@example.com", f"Work order {work_order.number}: the refurbishment tool is ready")
    ]
    assert "Status: Waiting for your confirmation" in mailoutbox[0].body


def test_the_manufacturers_own_status_changes_tell_no_one(
    people: dict[str, User],
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    work_order = WorkOrderFactory(
        manufacturer=people["acme"].manufacturer,
        submitted_by=people["acme"],
        status=Status.AWAITING_CONFIRMATION,
    )
    with django_capture_on_commit_callbacks(execute=True):
        work_order_confirm(work_order_id=work_order.pk, user=people["acme"])
    assert mailoutbox == []
    assert not EmailNotice.objects.exists()


def test_a_manufacturer_reply_tells_the_assignee_or_else_all_staff(
    people: dict[str, User],
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    acme = people["acme"]
    unassigned = WorkOrderFactory(manufacturer=acme.manufacturer, submitted_by=acme)
    assigned = WorkOrderFactory(
        manufacturer=acme.manufacturer, submitted_by=acme, assignee=people["support"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        work_order_reply(
            work_order_id=assigned.pk, user=acme, side=Side.MANUFACTURER, body="More details."
        )
    subject = f"Work order {assigned.number}: the manufacturer replied"
    assert told(mailoutbox) == [("support@example.com", subject)]
    assert "More details." in mailoutbox[0].body
    assert "/admin/workorders/workorder/" in mailoutbox[0].body
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        work_order_reply(
            work_order_id=unassigned.pk, user=acme, side=Side.MANUFACTURER, body="Hello?"
        )
    assert [address for address, _subject in told(mailoutbox)] == [
        "staff@example.com",
        "support@example.com",
    ]


def test_a_refused_change_tells_no_one(
    people: dict[str, User],
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    work_order = WorkOrderFactory(manufacturer=people["acme"].manufacturer, status=Status.CLOSED)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(WorkOrderError):
        work_order_transition(
            work_order_id=work_order.pk,
            user=people["staff"],
            side=Side.STAFF,
            to_status=Status.PROCESSING,
        )
    assert mailoutbox == []
    assert not Notice.objects.exists()


def test_in_chinese_for_a_submitter_who_reads_chinese(
    people: dict[str, User],
    work_order: WorkOrder,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    User.objects.filter(pk=people["acme"].pk).update(language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        staff_reply(work_order, people["staff"], "请提供模块型号。", Status.AWAITING_FEEDBACK)
    [email] = mailoutbox
    assert work_order.number in email.subject
    assert "staff replied" not in email.subject
    assert "请提供模块型号。" in email.body
    assert str(Status.AWAITING_FEEDBACK.label) not in email.body  # the status in Chinese
