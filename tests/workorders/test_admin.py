from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from pytest_django.fixtures import Settings

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from tests.deliveries.test_services import held_elsewhere
from tests.factories import StaffUserFactory, WorkOrderFactory
from tests.private_storage import PrivateArea
from tests.workorders.conftest import pdf, stored_files, submit
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db
Status = WorkOrder.Status
CHANGELIST = "/admin/workorders/workorder/"


def change_url(work_order: WorkOrder) -> str:
    return reverse("admin:workorders_workorder_change", args=[work_order.pk])


def action_url(name: str, work_order: WorkOrder) -> str:
    return reverse(f"admin:workorders_workorder_{name}", args=[work_order.pk])


def page_messages(response: object) -> list[str]:
    return [str(m) for m in response.context["messages"]]  # type: ignore[attr-defined]


def test_the_queue_puts_what_needs_staff_first_and_the_oldest_first(
    staff_client: Client, acme: Manufacturer
) -> None:
    now = timezone.now()
    closed = WorkOrderFactory(manufacturer=acme, status=Status.CLOSED, created_at=now)
    new_recent = WorkOrderFactory(manufacturer=acme, created_at=now)
    new_old = WorkOrderFactory(manufacturer=acme, created_at=now - dt.timedelta(days=3))
    processing = WorkOrderFactory(
        manufacturer=acme, status=Status.PROCESSING, created_at=now - dt.timedelta(days=9)
    )
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert rows == [new_old, new_recent, processing, closed]
    html = response.content.decode()
    assert "3\xa0days" in html  # the age column


def test_the_queue_filters_by_status_and_finds_a_number(
    staff_client: Client, acme: Manufacturer
) -> None:
    wanted = WorkOrderFactory(manufacturer=acme, status=Status.PROCESSING)
    WorkOrderFactory(manufacturer=acme)
    response = staff_client.get(CHANGELIST, {"status__exact": "processing"})
    assert list(response.context["cl"].result_list) == [wanted]
    response = staff_client.get(CHANGELIST, {"q": wanted.number})
    assert list(response.context["cl"].result_list) == [wanted]


def test_the_change_page_is_read_only_and_offers_only_allowed_statuses(
    staff_client: Client, acme: Manufacturer
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme, status=Status.PROCESSING)
    response = staff_client.get(change_url(work_order))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="_save"' not in html
    assert 'name="status"' not in html
    statuses = [value for value, _label in response.context["status_choices"]]
    assert statuses == [Status.AWAITING_FEEDBACK, Status.AWAITING_CONFIRMATION, Status.CLOSED]
    assert action_url("reply", work_order) in html
    assert action_url("attach_tool", work_order) in html


def test_staff_change_the_status_through_the_service(
    staff_client: Client, acme: Manufacturer, staff_user: User
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme, status=Status.PROCESSING)
    response = staff_client.post(
        action_url("status", work_order), {"to_status": "awaiting_feedback"}, follow=True
    )
    assert "The status is now “Waiting for the manufacturer's feedback”." in page_messages(response)
    work_order.refresh_from_db()
    assert work_order.status == Status.AWAITING_FEEDBACK
    assert work_order.transitions.get().actor == staff_user


@pytest.mark.parametrize(
    ("status", "to_status", "message"),
    [
        (
            Status.CLOSED,
            "processing",
            "A work order whose status is “Closed” cannot be set to “Processing”.",
        ),
        (
            Status.AWAITING_CONFIRMATION,
            "completed",
            "A work order whose status is “Waiting for the manufacturer's confirmation” cannot "
            "be set to “Completed”.",
        ),
        (Status.PROCESSING, "nonsense", "Select a valid choice."),
    ],
)
def test_an_illegal_status_change_is_refused_with_a_message(
    staff_client: Client, acme: Manufacturer, status: str, to_status: str, message: str
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme, status=status)
    response = staff_client.post(
        action_url("status", work_order), {"to_status": to_status}, follow=True
    )
    assert any(message in m for m in page_messages(response))
    work_order.refresh_from_db()
    assert work_order.status == status
    assert not work_order.transitions.exists()


def test_staff_reply_and_set_the_status(staff_client: Client, acme: Manufacturer) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    staff_client.post(
        action_url("reply", work_order),
        {"body": "Which module?", "to_status": "awaiting_feedback", "reply_key": uuid.uuid4()},
    )
    work_order.refresh_from_db()
    assert work_order.status == Status.AWAITING_FEEDBACK
    message = work_order.messages.get()
    assert message.from_staff
    assert message.body == "Which module?"


def test_an_empty_staff_reply_is_refused(staff_client: Client, acme: Manufacturer) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    response = staff_client.post(action_url("reply", work_order), {"body": ""}, follow=True)
    assert "Write a message." in page_messages(response)
    assert not work_order.messages.exists()


def test_staff_assign_a_work_order(staff_client: Client, acme: Manufacturer) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    colleague = StaffUserFactory(username="support")
    staff_client.post(action_url("assign", work_order), {"assignee": colleague.pk})
    work_order.refresh_from_db()
    assert work_order.assignee == colleague
    assert work_order.status == Status.TO_BE_PROCESSED


def test_assign_to_me_in_the_queue(
    staff_client: Client, staff_user: User, acme: Manufacturer
) -> None:
    work_orders = WorkOrderFactory.create_batch(2, manufacturer=acme)
    staff_client.post(
        CHANGELIST,
        {"action": "assign_to_me", "_selected_action": [w.pk for w in work_orders]},
    )
    for work_order in work_orders:
        work_order.refresh_from_db()
        assert work_order.assignee == staff_user


def test_staff_attach_the_tool_file_and_download_it_back(
    staff_client: Client, acme: Manufacturer
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    response = staff_client.post(
        action_url("attach_tool", work_order),
        {
            "tool_file": SimpleUploadedFile("RefurbTool.zip", b"PK\x03\x04tool"),
            "tool_key": uuid.uuid4(),
        },
        follow=True,
    )
    assert any("tool is attached" in m for m in page_messages(response))
    work_order.refresh_from_db()
    assert work_order.status == Status.AWAITING_CONFIRMATION
    response = staff_client.get(action_url("tool", work_order))
    assert b"".join(response.streaming_content) == b"PK\x03\x04tool"  # type: ignore[attr-defined]
    assert "no-store" in response["Cache-Control"]


def test_attaching_nothing_is_refused(staff_client: Client, acme: Manufacturer) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    response = staff_client.post(
        action_url("attach_tool", work_order), {"tool_key": uuid.uuid4()}, follow=True
    )
    assert "Attach the tool file or enter a link to it." in page_messages(response)
    work_order.refresh_from_db()
    assert not work_order.has_tool


def test_staff_download_a_manufacturers_attachment(staff_client: Client, acme_user: User) -> None:
    work_order = submit(acme_user, attachments=[pdf("label.pdf")])
    attachment = work_order.attachments.get()
    page = staff_client.get(change_url(work_order)).content.decode()
    url = reverse("admin:workorders_workorder_attachment", args=[work_order.pk, attachment.pk])
    assert url in page
    response = staff_client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="label.pdf"'


def test_manufacturer_users_cannot_use_the_staff_actions(
    acme_client: Client, acme: Manufacturer
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    response = acme_client.post(action_url("status", work_order), {"to_status": "processing"})
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    work_order.refresh_from_db()
    assert work_order.status == Status.TO_BE_DISPATCHED


def test_a_staff_reply_sent_twice_is_one_reply(staff_client: Client, acme: Manufacturer) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    page = staff_client.get(reverse("admin:workorders_workorder_change", args=[work_order.pk]))
    key = page.context["reply_form"]["reply_key"].value()
    assert f'value="{key}"' in page.content.decode()
    data = {"body": "Which module?", "to_status": "awaiting_feedback", "reply_key": key}
    for _ in range(2):
        staff_client.post(action_url("reply", work_order), data)
    assert work_order.messages.count() == 1
    assert work_order.transitions.filter(to_status="awaiting_feedback").count() == 1


@pytest.mark.usefixtures("eager_tasks")
def test_the_attach_tool_form_sent_twice_attaches_and_emails_once(
    staff_client: Client,
    acme_user: User,
    private_storage: PrivateArea,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
) -> None:
    work_order = submit(acme_user)
    page = staff_client.get(reverse("admin:workorders_workorder_change", args=[work_order.pk]))
    key = page.context["tool_form"]["tool_key"].value()
    assert f'value="{key}"' in page.content.decode()
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            staff_client.post(
                action_url("attach_tool", work_order),
                {"tool_file": SimpleUploadedFile("Tool.zip", b"PK\x03\x04tool"), "tool_key": key},
            )
    work_order.refresh_from_db()
    assert work_order.tool_file_name == "Tool.zip"
    assert work_order.transitions.filter(to_status=Status.AWAITING_CONFIRMATION).count() == 1
    assert AuditEvent.objects.filter(action="workorders.tool_attached").count() == 1
    tools = [f for f in stored_files(private_storage) if f.name.startswith("workorders/tools/")]
    assert len(tools) == 1
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_assign_to_me_reports_a_busy_work_order_and_assigns_the_others(
    staff_client: Client, staff_user: User, acme: Manufacturer, settings: Settings
) -> None:
    """A work order another transaction holds is refused as busy with a message, not a 500."""
    translation.activate("en")
    held, free = WorkOrderFactory.create_batch(2, manufacturer=acme)
    settings.ROW_LOCK_TIMEOUT_MS = 200
    with held_elsewhere(lambda: WorkOrder.objects.select_for_update().get(pk=held.pk)):
        response = staff_client.post(
            CHANGELIST,
            {"action": "assign_to_me", "_selected_action": [held.pk, free.pk]},
            follow=True,
        )
    assert response.status_code == 200
    shown = page_messages(response)
    assert any(m.startswith(f"{held.number}: ") and "Please try again" in m for m in shown)
    assert "Assigned 1 work order to you." in shown
    held.refresh_from_db()
    free.refresh_from_db()
    assert (held.assignee, free.assignee) == (None, staff_user)


def test_staff_read_statuses_in_their_own_words_and_the_manufacturer_in_its_own(
    staff_client: Client, acme_client: Client, acme: Manufacturer
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme, status=Status.AWAITING_FEEDBACK)
    for page in (staff_client.get(CHANGELIST), staff_client.get(change_url(work_order))):
        html = page.content.decode()
        assert "Waiting for the manufacturer&#x27;s feedback" in html
        assert "Waiting for your" not in html
    labels = dict(staff_client.get(change_url(work_order)).context["status_choices"])
    assert labels[Status.AWAITING_CONFIRMATION] == "Waiting for the manufacturer's confirmation"
    portal = acme_client.get(reverse("workorders:detail", kwargs={"pk": work_order.pk}))
    assert "Waiting for your feedback" in portal.content.decode()
    with translation.override("zh-hans"):
        staff_client.cookies["django_language"] = "zh-hans"
        html = staff_client.get(change_url(work_order)).content.decode()
    assert "等待制造商反馈" in html
    assert "待您反馈" not in html


def test_the_link_that_leaves_the_page_does_not_read_like_closing_the_work_order(
    staff_client: Client, acme: Manufacturer
) -> None:
    html = staff_client.get(change_url(WorkOrderFactory(manufacturer=acme))).content.decode()
    assert ">Close</a>" not in html
    work, back = html.index("Work on this work order"), html.index("Back to the work order queue")
    assert work < back  # under the work, not beside its heading
    assert f'href="{CHANGELIST}' in html[back - 200 : back]


def test_no_read_only_admin_page_says_close_for_leaving_it(
    staff_client: Client, acme_user: User
) -> None:
    """Every read-only record (audit events, API keys, token files, ...) leaves by a link that
    names where it goes: "Close" beside a key or a delivery reads like revoking or closing it."""
    event = AuditEvent.objects.create(action="auth.logged_in", actor=acme_user)
    html = staff_client.get(
        reverse("admin:audit_auditevent_change", args=[event.pk])
    ).content.decode()
    assert ">Close</a>" not in html
    assert "Back to all audit events" in html
