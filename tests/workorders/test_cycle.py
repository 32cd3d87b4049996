"""The whole life of a refurbishment-tool request, through the portal and the admin."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import EmailMessage
from django.test import Client
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEvent
from orders.models import PurchaseOrder
from workorders.models import ToolDownload, WorkOrder

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]
Status = WorkOrder.Status
Capture = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


def test_request_answer_download_confirm_close(
    acme_client: Client,
    staff_client: Client,
    acme_user: User,
    staff_user: User,
    seed_order: PurchaseOrder,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    # The manufacturer opens the prefilled form and submits it.
    form_page = acme_client.get(
        reverse("workorders:submit"), {"type": "tool", "order": seed_order.number}
    )
    initial = form_page.context["form"].initial
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_client.post(
            reverse("workorders:submit"),
            {
                "type": initial["type"],
                "order": initial["order"],
                "description": initial["description"],
                "contact": initial["contact"],
                "submission_key": str(initial["submission_key"]),
            },
        )
    work_order = WorkOrder.objects.get()
    detail = reverse("workorders:detail", args=[work_order.pk])
    assert response["Location"] == detail
    assert (work_order.type, work_order.order) == (WorkOrder.Type.TOOL, seed_order)
    assert [m.to for m in mailoutbox] == [["staff@example.com"]]

    # Staff reply in the admin and attach the tool file.
    def admin(name: str) -> str:
        return reverse(f"admin:workorders_workorder_{name}", args=[work_order.pk])

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(admin("assign"), {"assignee": staff_user.pk})
        staff_client.post(
            admin("reply"),
            {
                "body": "Here is the tool; see the guide inside.",
                "to_status": "",
                "reply_key": uuid.uuid4(),
            },
        )
        staff_client.post(
            admin("attach_tool"),
            {
                "tool_file": SimpleUploadedFile("RefurbTool-2.3.zip", b"PK\x03\x04 the tool"),
                "tool_key": uuid.uuid4(),
            },
        )
    work_order.refresh_from_db()
    assert work_order.status == Status.AWAITING_CONFIRMATION
    assert work_order.assignee == staff_user
    subjects = [m.subject for m in mailoutbox[1:]]
    assert subjects == [
        f"Work order {work_order.number}: the status is now “To be processed”",
        f"Work order {work_order.number}: staff replied",
        f"Work order {work_order.number}: the refurbishment tool is ready",
    ]
    assert all(m.to == ["acme@example.com"] for m in mailoutbox[1:])

    # The manufacturer reads the answer and downloads the tool.
    page = acme_client.get(detail).content.decode()
    assert "Here is the tool; see the guide inside." in page
    assert "Waiting for your confirmation" in page
    download = acme_client.get(reverse("workorders:tool_download", args=[work_order.pk]))
    assert b"".join(download.streaming_content) == b"PK\x03\x04 the tool"  # type: ignore[attr-defined]
    assert download["Content-Disposition"] == 'attachment; filename="RefurbTool-2.3.zip"'
    assert ToolDownload.objects.get().user == acme_user

    # ... confirms, and closes.
    acme_client.post(detail, {"action": "confirm"})
    acme_client.post(detail, {"action": "close"})
    work_order.refresh_from_db()
    assert work_order.status == Status.CLOSED

    history = [
        (t.from_status, t.to_status, t.actor.username)
        for t in work_order.transitions.order_by("occurred_at", "id")
    ]
    assert history == [
        ("", Status.TO_BE_DISPATCHED, "acme"),
        (Status.TO_BE_DISPATCHED, Status.TO_BE_PROCESSED, "staff"),
        (Status.TO_BE_PROCESSED, Status.AWAITING_CONFIRMATION, "staff"),
        (Status.AWAITING_CONFIRMATION, Status.COMPLETED, "acme"),
        (Status.COMPLETED, Status.CLOSED, "acme"),
    ]
    actions = list(
        AuditEvent.objects.filter(action__startswith="workorders.")
        .order_by("occurred_at", "id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "workorders.submitted",
        "workorders.assigned",
        "workorders.status_changed",
        "workorders.replied",
        # The status the tool brings first: the tool's notice, made from its event, tells it.
        "workorders.status_changed",
        "workorders.tool_attached",
        "workorders.tool_downloaded",
        "workorders.status_changed",
        "workorders.status_changed",
    ]
    # The manufacturer's Activity page shows its work-order events, in words.
    activity = acme_client.get(reverse("audit:activity")).content.decode()
    assert "Downloaded the refurbishment tool" in activity
