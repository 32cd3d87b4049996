from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from pytest_django.fixtures import Settings

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from orders.models import PurchaseOrder
from tests.conftest import delivered_license_order
from tests.factories import StaffUserFactory, WorkOrderFactory
from tests.private_storage import PrivateArea
from tests.threads import barrier, run_in_threads
from tests.workorders.conftest import PDF, PNG, pdf, stored_files, submit
from workorders.errors import WorkOrderError
from workorders.models import WorkOrder, WorkOrderAttachment, WorkOrderMessage
from workorders.services import (
    tool_download_record,
    work_order_assign,
    work_order_reply,
    work_order_submit,
    work_order_tool_attach,
)
from workorders.transitions import Side

pytestmark = pytest.mark.django_db
Status = WorkOrder.Status


# --- submit ---------------------------------------------------------------------------------


def test_submit_records_the_work_order_its_first_status_files_and_audit(
    acme_user: User, seed_order: PurchaseOrder, private_storage: PrivateArea
) -> None:
    work_order = submit(
        acme_user,
        order=seed_order,
        description="  Please send the tool.  ",
        attachments=[pdf("label.pdf"), SimpleUploadedFile("notes.txt", "Zeilen: äöü\n".encode())],
    )
    assert work_order.status == Status.TO_BE_DISPATCHED
    assert work_order.manufacturer == acme_user.manufacturer
    assert work_order.order == seed_order
    assert work_order.description == "Please send the tool."
    [first] = work_order.transitions.all()
    assert (first.from_status, first.to_status, first.actor) == (
        "",
        Status.TO_BE_DISPATCHED,
        acme_user,
    )
    names = sorted(a.file_name for a in work_order.attachments.all())
    assert names == ["label.pdf", "notes.txt"]
    assert len(stored_files(private_storage)) == 2
    event = AuditEvent.objects.get(action="workorders.submitted")
    assert event.details["order"] == "LIC-2026-0001"
    assert event.manufacturer == acme_user.manufacturer


def test_the_same_submission_key_makes_one_work_order(acme_user: User) -> None:
    key = uuid.uuid4()
    first = submit(acme_user, submission_key=key)
    again = work_order_submit(
        user=acme_user,
        work_order_type=WorkOrder.Type.TOOL,
        order=None,
        description="Please send the refurbishment tool.",
        contact="Jane",
        submission_key=key,
    )
    assert not again.created
    assert again.work_order == first
    assert WorkOrder.objects.count() == 1


def assert_nothing_submitted(private_storage: PrivateArea) -> None:
    assert WorkOrder.objects.count() == 0
    assert WorkOrderAttachment.objects.count() == 0
    assert stored_files(private_storage) == []
    assert not AuditEvent.objects.filter(action="workorders.submitted").exists()


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"description": ""}, "description_empty"),
        ({"description": "   \n  "}, "description_empty"),
        ({"contact": " "}, "contact_empty"),
        ({"attachments": [pdf("big.pdf", PDF + b"x" * 1024)]}, "attachment_too_large"),
        (
            {"attachments": [SimpleUploadedFile("tool.exe", b"MZ\x90\x00")]},
            "attachment_type_refused",
        ),
        (
            {"attachments": [SimpleUploadedFile("page.html", b"<script>")]},
            "attachment_type_refused",
        ),
        (
            {"attachments": [SimpleUploadedFile("fake.pdf", b"MZ\x90\x00")]},
            "attachment_content_mismatch",
        ),
        ({"attachments": [SimpleUploadedFile("fake.png", PDF)]}, "attachment_content_mismatch"),
        (
            {"attachments": [SimpleUploadedFile("bin.txt", b"ab\x00cd")]},
            "attachment_content_mismatch",
        ),
        ({"attachments": [pdf(f"p{i}.pdf") for i in range(6)]}, "too_many_attachments"),
    ],
)
def test_bad_submissions_are_refused_and_change_nothing(
    acme_user: User,
    settings: Settings,
    private_storage: PrivateArea,
    overrides: dict[str, object],
    code: str,
) -> None:
    settings.WORK_ORDER_ATTACHMENT_MAX_BYTES = 1024
    # A good file beside the bad one: it must not be left behind either.
    attachments = overrides.pop("attachments", [])
    if attachments and code != "too_many_attachments":
        attachments = [pdf("good.pdf"), *attachments]  # type: ignore[misc]
    with pytest.raises(WorkOrderError) as info:
        submit(acme_user, attachments=attachments, **overrides)
    assert info.value.code == code
    assert_nothing_submitted(private_storage)


def test_another_manufacturers_order_is_refused(
    acme_user: User, globex: Manufacturer, private_storage: PrivateArea
) -> None:
    theirs = delivered_license_order(globex, number="GLX-2026-0001")
    with pytest.raises(WorkOrderError, match="Choose one of your own purchase orders"):
        submit(acme_user, order=theirs, attachments=[pdf()])
    assert_nothing_submitted(private_storage)


def test_attachment_limits_come_from_settings(acme_user: User, settings: Settings) -> None:
    settings.WORK_ORDER_ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(WorkOrderError, match="attachments may be at most 10"):
        submit(acme_user, attachments=[SimpleUploadedFile("a.png", PNG)])


def test_staff_cannot_submit_for_no_manufacturer(staff_user: User) -> None:
    with pytest.raises(WorkOrderError) as info:
        submit(staff_user)
    assert info.value.code == "not_permitted"


def test_attachment_names_are_made_safe(acme_user: User) -> None:
    work_order = submit(acme_user, attachments=[pdf("../../etc/pass wd.pdf")])
    [attachment] = work_order.attachments.all()
    assert attachment.file_name == "pass_wd.pdf"
    assert attachment.storage_name.startswith("workorders/attachments/")
    assert ".." not in attachment.storage_name


@pytest.mark.parametrize(
    ("uploaded_as", "kept_as"),
    [
        ("📄.pdf", "file.pdf"),
        ("📄📄.PDF", "file.PDF"),
        ("..pdf", "file.pdf"),
        ("合同.pdf", "合同.pdf"),
        ("📄", "file"),
    ],
)
def test_a_name_that_sanitises_to_nothing_keeps_its_extension(
    acme_user: User, uploaded_as: str, kept_as: str
) -> None:
    if not kept_as.lower().endswith(".pdf"):
        with pytest.raises(WorkOrderError) as refused:
            submit(acme_user, attachments=[pdf(uploaded_as)])
        assert refused.value.code == "attachment_type_refused"
        return
    work_order = submit(acme_user, attachments=[pdf(uploaded_as)])
    [attachment] = work_order.attachments.all()
    assert attachment.file_name == kept_as
    assert attachment.storage_name.endswith(".pdf")


# --- replies --------------------------------------------------------------------------------


def test_the_manufacturers_feedback_sends_the_work_order_back_to_staff(
    acme: Manufacturer, acme_user: User
) -> None:
    work_order = WorkOrderFactory(
        manufacturer=acme, submitted_by=acme_user, status=Status.AWAITING_FEEDBACK
    )
    message = work_order_reply(
        work_order_id=work_order.pk, user=acme_user, side=Side.MANUFACTURER, body="Model WB3S."
    )
    work_order.refresh_from_db()
    assert work_order.status == Status.PROCESSING
    assert not message.from_staff
    [change] = work_order.transitions.all()
    assert (change.from_status, change.to_status, change.by_staff) == (
        Status.AWAITING_FEEDBACK,
        Status.PROCESSING,
        False,
    )


def test_a_manufacturer_reply_elsewhere_keeps_the_status(
    acme: Manufacturer, acme_user: User
) -> None:
    work_order = WorkOrderFactory(
        manufacturer=acme, submitted_by=acme_user, status=Status.AWAITING_CONFIRMATION
    )
    work_order_reply(
        work_order_id=work_order.pk, user=acme_user, side=Side.MANUFACTURER, body="Thanks!"
    )
    work_order.refresh_from_db()
    assert work_order.status == Status.AWAITING_CONFIRMATION


def test_staff_reply_may_set_an_allowed_status(acme: Manufacturer, staff_user: User) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    message = work_order_reply(
        work_order_id=work_order.pk,
        user=staff_user,
        side=Side.STAFF,
        body="Which module model?",
        to_status=Status.AWAITING_FEEDBACK,
    )
    work_order.refresh_from_db()
    assert message.from_staff
    assert work_order.status == Status.AWAITING_FEEDBACK


def test_staff_reply_with_a_refused_status_changes_nothing(
    acme: Manufacturer, staff_user: User
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    with pytest.raises(WorkOrderError) as info:
        work_order_reply(
            work_order_id=work_order.pk,
            user=staff_user,
            side=Side.STAFF,
            body="Done.",
            to_status=Status.COMPLETED,
        )
    assert info.value.code == "transition_not_allowed"
    assert WorkOrderMessage.objects.count() == 0
    work_order.refresh_from_db()
    assert work_order.status == Status.TO_BE_DISPATCHED


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.CLOSED])
def test_finished_work_orders_take_no_replies(
    acme: Manufacturer, acme_user: User, private_storage: PrivateArea, status: str
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme, submitted_by=acme_user, status=status)
    with pytest.raises(WorkOrderError) as info:
        work_order_reply(
            work_order_id=work_order.pk,
            user=acme_user,
            side=Side.MANUFACTURER,
            body="Hello?",
            attachments=[pdf()],
        )
    assert info.value.code == "not_open"
    assert WorkOrderMessage.objects.count() == 0
    assert stored_files(private_storage) == []


def test_empty_reply_is_refused(acme: Manufacturer, acme_user: User) -> None:
    work_order = WorkOrderFactory(manufacturer=acme, submitted_by=acme_user)
    with pytest.raises(WorkOrderError, match="Write a message"):
        work_order_reply(
            work_order_id=work_order.pk, user=acme_user, side=Side.MANUFACTURER, body="  "
        )


def test_another_manufacturer_cannot_reply(acme: Manufacturer, globex_user: User) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    with pytest.raises(WorkOrderError) as info:
        work_order_reply(
            work_order_id=work_order.pk, user=globex_user, side=Side.MANUFACTURER, body="Hi"
        )
    assert info.value.code == "not_permitted"
    assert WorkOrderMessage.objects.count() == 0


# --- assign and tool ------------------------------------------------------------------------


def test_assigning_a_new_work_order_makes_it_to_be_processed(
    acme: Manufacturer, staff_user: User
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    colleague = StaffUserFactory(username="support")
    work_order_assign(work_order_id=work_order.pk, assignee=colleague, user=staff_user)
    work_order.refresh_from_db()
    assert work_order.assignee == colleague
    assert work_order.status == Status.TO_BE_PROCESSED
    assert work_order.transitions.get().actor == staff_user
    assert AuditEvent.objects.filter(action="workorders.assigned").count() == 1


def test_only_staff_can_be_assigned(acme: Manufacturer, acme_user: User, staff_user: User) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    with pytest.raises(WorkOrderError) as info:
        work_order_assign(work_order_id=work_order.pk, assignee=acme_user, user=staff_user)
    assert info.value.code == "assignee_not_staff"
    work_order.refresh_from_db()
    assert work_order.assignee is None


def test_attaching_the_tool_file_stores_it_privately_and_asks_for_confirmation(
    acme: Manufacturer, staff_user: User, private_storage: PrivateArea
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme, status=Status.PROCESSING)
    work_order_tool_attach(
        work_order_id=work_order.pk,
        user=staff_user,
        tool_file=SimpleUploadedFile("RefurbTool-2.3.zip", b"PK\x03\x04tool"),
    )
    work_order.refresh_from_db()
    assert work_order.tool_file_name == "RefurbTool-2.3.zip"
    assert work_order.tool_size_bytes == 8
    assert work_order.status == Status.AWAITING_CONFIRMATION
    [stored] = stored_files(private_storage)
    assert stored.read_bytes() == b"PK\x03\x04tool"


@pytest.mark.usefixtures("eager_tasks")
def test_a_new_tool_replaces_the_old_one_and_its_file(
    acme: Manufacturer,
    staff_user: User,
    private_storage: PrivateArea,
    django_capture_on_commit_callbacks: object,
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    work_order_tool_attach(
        work_order_id=work_order.pk,
        user=staff_user,
        tool_file=SimpleUploadedFile("a.zip", b"PK\x03\x04"),
    )
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        work_order_tool_attach(
            work_order_id=work_order.pk, user=staff_user, tool_link="https://tools.example.com/t"
        )
    work_order.refresh_from_db()
    assert (work_order.tool_storage_name, work_order.tool_link) == (
        "",
        "https://tools.example.com/t",
    )
    assert stored_files(private_storage) == []


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({}, "tool_missing"),
        ({"tool_link": "ftp://example.com/tool"}, "tool_link_scheme"),
        (
            {"tool_link": "https://example.com/t", "tool_file": SimpleUploadedFile("t.zip", b"1")},
            "tool_both",
        ),
    ],
)
def test_bad_tool_attachments_are_refused(
    acme: Manufacturer,
    staff_user: User,
    private_storage: PrivateArea,
    arguments: dict[str, object],
    code: str,
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    with pytest.raises(WorkOrderError) as info:
        work_order_tool_attach(work_order_id=work_order.pk, user=staff_user, **arguments)  # type: ignore[arg-type]
    assert info.value.code == code
    work_order.refresh_from_db()
    assert not work_order.has_tool
    assert stored_files(private_storage) == []


def test_a_closed_work_order_takes_no_tool_and_keeps_no_file(
    acme: Manufacturer, staff_user: User, private_storage: PrivateArea
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme, status=Status.CLOSED)
    with pytest.raises(WorkOrderError):
        work_order_tool_attach(
            work_order_id=work_order.pk,
            user=staff_user,
            tool_file=SimpleUploadedFile("a.zip", b"PK\x03\x04"),
        )
    assert stored_files(private_storage) == []
    work_order.refresh_from_db()
    assert not work_order.has_tool


def test_tool_too_large_is_refused(
    acme: Manufacturer, staff_user: User, settings: Settings
) -> None:
    settings.WORK_ORDER_TOOL_MAX_BYTES = 3
    work_order = WorkOrderFactory(manufacturer=acme)
    with pytest.raises(WorkOrderError) as info:
        work_order_tool_attach(
            work_order_id=work_order.pk,
            user=staff_user,
            tool_file=SimpleUploadedFile("a.zip", b"1234"),
        )
    assert info.value.code == "tool_too_large"


def test_a_download_without_a_tool_is_refused(acme: Manufacturer, acme_user: User) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    with pytest.raises(WorkOrderError) as info:
        tool_download_record(work_order=work_order, user=acme_user)
    assert info.value.code == "tool_not_attached"


@pytest.mark.parametrize(
    ("name", "content"),
    [("RefurbTool.zip", b"not really a zip file"), ("RefurbTool.exe", b"MZ\x90\x00")],
)
def test_a_tool_file_is_checked_by_its_content_like_any_upload(
    acme: Manufacturer, staff_user: User, private_storage: PrivateArea, name: str, content: bytes
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme)
    with pytest.raises(WorkOrderError) as info:
        work_order_tool_attach(
            work_order_id=work_order.pk,
            user=staff_user,
            tool_file=SimpleUploadedFile(name, content),
        )
    assert info.value.code in {"attachment_content_mismatch", "attachment_type_refused"}
    work_order.refresh_from_db()
    assert work_order.tool_storage_name == ""
    assert stored_files(private_storage) == []


@pytest.mark.django_db(transaction=True)
def test_one_reply_key_sent_twice_at_once_makes_one_reply(acme_user: User) -> None:
    """Two requests carrying the same form at the same moment: the work order's row lock lets
    one reply through and the other returns it."""
    work_order = submit(acme_user)
    key = uuid.uuid4()
    start = barrier(2)
    replies: list[int] = []

    def send() -> None:
        try:
            start.wait()
            message = work_order_reply(
                work_order_id=work_order.pk,
                user=acme_user,
                side=Side.MANUFACTURER,
                body="Which module?",
                reply_key=key,
            )
            replies.append(message.pk)
        finally:
            connection.close()

    run_in_threads([send, send])
    assert len(replies) == 2
    assert len(set(replies)) == 1
    assert WorkOrderMessage.objects.filter(work_order=work_order).count() == 1


def test_every_event_of_a_work_order_about_an_order_is_in_that_orders_activity(
    acme: Manufacturer, acme_user: User, staff_user: User
) -> None:
    """The order page's Activity listed only the submission; staff's replies and status
    changes on the order's work order were missing (found by a new-user trial)."""
    from audit.selectors import activity_for_manufacturer

    order = delivered_license_order(acme)
    work_order = submit(acme_user, order=order)
    work_order_reply(
        work_order_id=work_order.pk,
        user=staff_user,
        side=Side.STAFF,
        body="Which module model?",
        to_status=Status.AWAITING_FEEDBACK,
    )
    actions = {e.action for e in activity_for_manufacturer(manufacturer=acme, order=order.number)}
    assert {"workorders.submitted", "workorders.replied", "workorders.status_changed"} <= actions
