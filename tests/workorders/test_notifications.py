"""Emails: sent only after the commit, to the right people, and never failing a request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from accounts.models import Manufacturer, User
from tests.factories import StaffUserFactory, UserFactory, WorkOrderFactory
from tests.workorders.conftest import submit, work_order_mails
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
def work_order(people: dict[str, User]) -> WorkOrder:
    """A new acme work order (its submitter is the ``acme`` user above)."""
    acme = people["acme"]
    return WorkOrderFactory(manufacturer=acme.manufacturer, submitted_by=acme)


def recipients(outbox: list[EmailMessage]) -> list[str]:
    return sorted(address for message in work_order_mails(outbox) for address in message.to)


@pytest.fixture
def people(acme: Manufacturer, globex: Manufacturer) -> dict[str, User]:
    """Two acme users, one without email and one inactive; globex; two staff, one inactive."""
    return {
        "acme": UserFactory(username="acme", manufacturer=acme),
        "acme2": UserFactory(username="acme2", manufacturer=acme),
        "acme_no_mail": UserFactory(username="acme3", manufacturer=acme, email=""),
        "acme_gone": UserFactory(username="acme4", manufacturer=acme, is_active=False),
        "globex": UserFactory(username="globex", manufacturer=globex),
        "staff": StaffUserFactory(username="staff"),
        "support": StaffUserFactory(username="support"),
        "retired": StaffUserFactory(username="retired", is_active=False),
    }


def test_a_submission_emails_staff_only_after_the_commit(
    people: dict[str, User],
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        work_order = submit(people["acme"])
    assert mailoutbox == []  # nothing before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert recipients(mailoutbox) == ["staff@example.com", "support@example.com"]
    [first, _second] = mailoutbox
    assert first.subject == f"New work order {work_order.number} from Acme Smart Home"
    assert f"/admin/workorders/workorder/{work_order.pk}/change/" in first.body


def test_a_staff_reply_emails_the_manufacturers_active_users(
    people: dict[str, User],
    work_order: WorkOrder,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        work_order_reply(
            work_order_id=work_order.pk,
            user=people["staff"],
            side=Side.STAFF,
            body="Which module model?",
            to_status=Status.AWAITING_FEEDBACK,
        )
    # One email for the reply and the status it brought, to each active acme user with email.
    assert recipients(mailoutbox) == ["acme2@example.com", "acme@example.com"]
    first = work_order_mails(mailoutbox)[0]
    assert first.subject == f"Work order {work_order.number}: staff replied"
    assert "Which module model?" in first.body
    assert "Waiting for your feedback" in first.body
    assert f"/work-orders/{work_order.pk}/" in first.body


def test_a_status_change_by_staff_emails_the_manufacturer(
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
    assert recipients(mailoutbox) == ["acme2@example.com", "acme@example.com"]
    assert mailoutbox[0].subject == f"Work order {work_order.number} is now Processing"


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
    assert mailoutbox[0].subject == f"Work order {work_order.number} is now To be processed"


def test_the_tool_email_goes_to_the_manufacturer(
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
    assert recipients(mailoutbox) == ["acme2@example.com", "acme@example.com"]
    assert "the refurbishment tool is ready" in work_order_mails(mailoutbox)[0].subject


def test_the_manufacturers_own_status_changes_email_no_one(
    people: dict[str, User],
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    work_order = WorkOrderFactory(
        manufacturer=people["acme"].manufacturer,
        submitted_by=people["acme"],
        status=Status.AWAITING_CONFIRMATION,
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        work_order_confirm(work_order_id=work_order.pk, user=people["acme"])
    assert callbacks == []
    assert mailoutbox == []


def test_a_manufacturer_reply_emails_the_assignee_or_else_all_staff(
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
    assert recipients(mailoutbox) == ["support@example.com"]
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        work_order_reply(
            work_order_id=unassigned.pk, user=acme, side=Side.MANUFACTURER, body="Hello?"
        )
    assert recipients(mailoutbox) == ["staff@example.com", "support@example.com"]


def test_a_refused_change_emails_no_one(
    people: dict[str, User],
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    work_order = WorkOrderFactory(manufacturer=people["acme"].manufacturer, status=Status.CLOSED)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(WorkOrderError),
    ):
        work_order_transition(
            work_order_id=work_order.pk,
            user=people["staff"],
            side=Side.STAFF,
            to_status=Status.PROCESSING,
        )
    assert callbacks == []
    assert mailoutbox == []


def test_a_broken_mail_server_is_logged_and_the_request_still_succeeds(
    acme_client: Client,
    acme_user: User,
    staff_user: User,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    """A real SMTP backend pointed at a closed port: the send fails, is logged, and the
    submission is still answered with its redirect."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
        }
    }
    page = acme_client.get(reverse("workorders:submit"))
    data = {
        "type": "tool",
        "description": "Please send the tool.",
        "contact": "Jane",
        "submission_key": str(page.context["form"].initial["submission_key"]),
    }
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        response = acme_client.post(reverse("workorders:submit"), data)
    assert response.status_code == 302
    assert WorkOrder.objects.count() == 1
    assert any("Could not send" in record.getMessage() for record in caplog.records)
