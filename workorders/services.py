"""Writes for work orders. The status changes only here, following ``workorders.transitions``;
each change is recorded as a ``WorkOrderTransition`` and in the audit trail, in the same
transaction. Who is told of what (notices and emails) is the ``notifications`` app's, fed by
those audit events (``notifications.events``).

Locking contract: every change of an existing work order runs in one transaction that first
locks the work order's row (``lock_row``), then checks the status it finds. Two people acting at
the same moment therefore serialize, and the second is checked against the first's result (two
"confirm" clicks complete it once; the second is refused).

Files are saved to private storage before the transaction and deleted again if it fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from accounts.access import role_require
from accounts.models import User
from audit.services import audit_record, client_ip
from orders.models import PurchaseOrder
from refurb_portal.locking import busy_refused_as, lock_row
from workorders import files
from workorders.errors import WorkOrderError
from workorders.models import (
    ToolDownload,
    WorkOrder,
    WorkOrderAttachment,
    WorkOrderMessage,
    WorkOrderTransition,
)
from workorders.transitions import OPEN_STATUSES, Side, is_allowed

Status = WorkOrder.Status


@dataclass(frozen=True)
class SubmitResult:
    work_order: WorkOrder
    created: bool  # False when the submission key replayed an earlier submission


def _required_text(value: str, code: str) -> str:
    text = (value or "").strip()
    if not text:
        raise WorkOrderError(code)
    return text


def _check_side(*, work_order: WorkOrder, user: User, side: Side) -> None:
    """Staff act as staff; a manufacturer's user acts only on their own company's work orders."""
    if side is Side.STAFF:
        if not (user.is_staff and user.is_active):
            raise WorkOrderError("not_permitted")
    elif user.manufacturer_id is None or user.manufacturer_id != work_order.manufacturer_id:
        raise WorkOrderError("not_permitted")


def _check_role(*, user: User, side: Side) -> None:
    """A manufacturer's user carries on a conversation only if their role may
    (``workorders.reply``: whoever may submit one); staff are checked by ``_check_side``."""
    if side is Side.MANUFACTURER:
        role_require(user=user, action="workorders.reply", error=WorkOrderError)


def _lock(work_order_id: int) -> WorkOrder:
    return lock_row(WorkOrder.objects.select_related("manufacturer"), pk=work_order_id)


def _about_order(work_order: WorkOrder) -> dict[str, str]:
    """The ``order`` detail of a work order's audit events, when it is about one: the order's
    Activity (``audit.selectors.activity_for_manufacturer(order=...)``) then lists them all."""
    order = work_order.order
    return {"order": order.number} if order is not None else {}


@contextmanager
def _deleted_on_failure(names: Sequence[str]) -> Iterator[None]:
    """Files saved for a change that then fails (refused, rolled back) are deleted again."""
    try:
        yield
    except BaseException:
        files.files_delete(names)
        raise


def _save_attachments(uploads: Sequence[UploadedFile]) -> list[tuple[str, UploadedFile]]:
    names: list[str] = []  # filled as files are saved, so a failure deletes those saved
    with _deleted_on_failure(names):
        for upload in uploads:
            names.append(files.file_save(upload=upload, folder="attachments"))
    return list(zip(names, uploads, strict=True))


def _record_attachments(
    *,
    work_order: WorkOrder,
    message: WorkOrderMessage | None,
    saved: list[tuple[str, UploadedFile]],
    user: User,
) -> None:
    WorkOrderAttachment.objects.bulk_create(
        WorkOrderAttachment(
            work_order=work_order,
            message=message,
            storage_name=name,
            file_name=files.clean_file_name(upload.name or ""),
            size_bytes=upload.size or 0,
            uploaded_by=user,
        )
        for name, upload in saved
    )


def _apply_transition(
    *,
    work_order: WorkOrder,
    to_status: str,
    user: User,
    side: Side,
    request: HttpRequest | None,
    told_with: str = "",
) -> WorkOrderTransition:
    """Move a locked work order to ``to_status`` if the table allows it; record and audit.
    ``told_with`` ("reply", "tool") names the change whose own notice tells of the new status,
    so that no second one is sent (``notifications.events``)."""
    from_status = work_order.status
    if not is_allowed(from_status=from_status, to_status=to_status, side=side):
        raise WorkOrderError(
            "transition_not_allowed",
            # In the words of the side that asked: staff read their own (STAFF_STATUS_LABELS).
            from_status=_status_words(from_status, side),
            to_status=_status_words(to_status, side) if to_status in Status.values else to_status,
            # The codes, for the audit trail; the message shows the labels.
            from_code=from_status,
            to_code=to_status,
        )
    now = timezone.now()
    WorkOrder.objects.filter(pk=work_order.pk).update(status=to_status, status_changed_at=now)
    work_order.status = to_status
    work_order.status_changed_at = now
    transition = WorkOrderTransition.objects.create(
        work_order=work_order,
        from_status=from_status,
        to_status=to_status,
        actor=user,
        by_staff=side is Side.STAFF,
        occurred_at=now,
    )
    audit_record(
        action="workorders.status_changed",
        actor=user,
        obj=work_order,
        manufacturer=work_order.manufacturer,
        request=request,
        details={
            **_about_order(work_order),
            "from": from_status,
            "to": to_status,
            "by": side.value,
            **({"with": told_with} if told_with else {}),
        },
    )
    return transition


def _status_words(status: str, side: Side) -> str:
    if side is Side.STAFF:
        return str(WorkOrder.STAFF_STATUS_LABELS[status])
    return str(Status(status).label)


def _audit_refusal(
    *, exc: WorkOrderError, work_order_id: int, user: User, request: HttpRequest | None
) -> None:
    if exc.code == "transition_not_allowed":
        audit_record(
            action="workorders.transition_refused",
            actor=user,
            request=request,
            details={
                "work_order_id": work_order_id,
                "from": exc.params["from_code"],
                "to": exc.params["to_code"],
            },
        )


@contextmanager
def _refusals_audited(
    *, work_order_id: int, user: User, request: HttpRequest | None
) -> Iterator[None]:
    """Around a locked change: a lock wait that timed out becomes the polite "busy" refusal,
    and a refused transition is audited (after the rollback, so the record survives)."""
    try:
        with busy_refused_as(WorkOrderError):
            yield
    except WorkOrderError as exc:
        _audit_refusal(exc=exc, work_order_id=work_order_id, user=user, request=request)
        raise


def work_order_submit(
    *,
    user: User,
    work_order_type: str,
    order: PurchaseOrder | None,
    description: str,
    contact: str,
    attachments: Sequence[UploadedFile] = (),
    submission_key: uuid.UUID,
    request: HttpRequest | None = None,
) -> SubmitResult:
    """Submit a work order for the user's manufacturer; staff are told (``notifications``).

    The submission key comes from the rendered form: submitting the same form twice (a double
    click, a resent request) returns the first work order instead of making a second.
    """
    role_require(user=user, action="workorders.submit", error=WorkOrderError)
    manufacturer = user.manufacturer
    if manufacturer is None:
        raise WorkOrderError("not_permitted")
    earlier = WorkOrder.objects.filter(submission_key=submission_key).first()
    if earlier is not None:
        if earlier.submitted_by_id != user.pk:
            raise WorkOrderError("not_permitted")
        return SubmitResult(work_order=earlier, created=False)
    if work_order_type not in WorkOrder.Type.values:
        work_order_type = WorkOrder.Type.OTHER
    if order is not None and order.manufacturer_id != manufacturer.pk:
        raise WorkOrderError("order_not_own")
    description = _required_text(description, "description_empty")
    contact = _required_text(contact, "contact_empty")[:200]
    uploads = files.attachments_check(attachments)
    saved = _save_attachments(uploads)
    saved_names = [name for name, _upload in saved]
    try:
        with _deleted_on_failure(saved_names), transaction.atomic():
            work_order = WorkOrder.objects.create(
                manufacturer=manufacturer,
                submitted_by=user,
                type=work_order_type,
                order=order,
                description=description,
                contact=contact,
                submission_key=submission_key,
            )
            WorkOrderTransition.objects.create(
                work_order=work_order,
                from_status="",
                to_status=work_order.status,
                actor=user,
                by_staff=False,
                occurred_at=work_order.created_at,
            )
            _record_attachments(work_order=work_order, message=None, saved=saved, user=user)
            audit_record(
                action="workorders.submitted",
                actor=user,
                obj=work_order,
                manufacturer=manufacturer,
                request=request,
                details={
                    "type": work_order_type,
                    "order": order.number if order is not None else None,
                    "attachments": len(saved),
                },
            )
    except IntegrityError:
        # The same form submitted twice at the same moment: the unique key let one through.
        earlier = WorkOrder.objects.filter(submission_key=submission_key).first()
        if earlier is None or earlier.submitted_by_id != user.pk:
            raise
        return SubmitResult(work_order=earlier, created=False)
    return SubmitResult(work_order=work_order, created=True)


def work_order_reply(
    *,
    work_order_id: int,
    user: User,
    side: Side,
    body: str,
    attachments: Sequence[UploadedFile] = (),
    to_status: str = "",
    reply_key: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> WorkOrderMessage:
    """Add a reply to the conversation of an open work order.

    A manufacturer's reply to "Waiting for your feedback" is the feedback: the work order goes
    back to Processing. Staff may change the status with the reply (``to_status``). The other
    side is told once, of the reply and any status it brought (``notifications``).

    ``reply_key`` comes from the rendered reply form: the same form sent twice (a double click,
    a resent request) returns the first reply, and adds, changes and emails nothing. The work
    order's row lock serializes two sends of one key; the unique key backs it.

    A manufacturer's user whose role may not ``workorders.reply`` (viewers) is refused with
    ``WorkOrderError("role_forbidden")`` (403) before anything is saved.
    """
    _check_role(user=user, side=side)
    earlier = _earlier_reply(work_order_id=work_order_id, user=user, reply_key=reply_key)
    if earlier is not None:
        return earlier
    body = _required_text(body, "reply_empty")
    uploads = files.attachments_check(attachments)
    saved = _save_attachments(uploads)
    with (
        _refusals_audited(work_order_id=work_order_id, user=user, request=request),
        _deleted_on_failure([name for name, _upload in saved]),
        transaction.atomic(),
    ):
        work_order = _lock(work_order_id)
        _check_side(work_order=work_order, user=user, side=side)
        earlier = _earlier_reply(work_order_id=work_order_id, user=user, reply_key=reply_key)
        if earlier is not None:
            files.files_delete(name for name, _upload in saved)
            return earlier
        if work_order.status not in OPEN_STATUSES:
            raise WorkOrderError("not_open", status=work_order.get_status_display())
        message = WorkOrderMessage.objects.create(
            work_order=work_order,
            author=user,
            from_staff=side is Side.STAFF,
            body=body,
            reply_key=reply_key,
        )
        _record_attachments(work_order=work_order, message=message, saved=saved, user=user)
        if side is Side.MANUFACTURER and work_order.status == Status.AWAITING_FEEDBACK:
            to_status = Status.PROCESSING
        if to_status and to_status != work_order.status:
            _apply_transition(
                work_order=work_order,
                to_status=to_status,
                user=user,
                side=side,
                request=request,
                told_with="reply",
            )
        audit_record(
            action="workorders.replied",
            actor=user,
            obj=work_order,
            manufacturer=work_order.manufacturer,
            request=request,
            details={
                **_about_order(work_order),
                "message_id": message.pk,
                "by": side.value,
                "attachments": len(saved),
            },
        )
    return message


def _earlier_reply(
    *, work_order_id: int, user: User, reply_key: uuid.UUID | None
) -> WorkOrderMessage | None:
    """The reply already made with ``reply_key`` on this work order by this user, if any; the
    key reused anywhere else is refused."""
    if reply_key is None:
        return None
    earlier = WorkOrderMessage.objects.filter(reply_key=reply_key).first()
    if earlier is not None and (
        earlier.work_order_id != work_order_id or earlier.author_id != user.pk
    ):
        raise WorkOrderError("not_permitted")
    return earlier


def work_order_transition(
    *,
    work_order_id: int,
    user: User,
    side: Side,
    to_status: str,
    request: HttpRequest | None = None,
) -> WorkOrderTransition:
    """Change the status if ``side`` may (see ``workorders.transitions.TRANSITIONS``).

    A change by staff is told to the submitter (``notifications``). A refused change
    changes nothing and is recorded in the audit trail as refused. Idempotent: asking for the
    status the work order is already in (the same button clicked twice, a resent request)
    returns the transition that made it so, and changes, audits and emails nothing. A
    manufacturer's user whose role may not ``workorders.reply`` is ``role_forbidden`` (403).
    """
    _check_role(user=user, side=side)
    with (
        _refusals_audited(work_order_id=work_order_id, user=user, request=request),
        transaction.atomic(),
    ):
        work_order = _lock(work_order_id)
        _check_side(work_order=work_order, user=user, side=side)
        if work_order.status == to_status:
            done = work_order.transitions.filter(to_status=to_status).order_by("-pk").first()
            if done is not None:
                return done
        transition = _apply_transition(
            work_order=work_order, to_status=to_status, user=user, side=side, request=request
        )
    return transition


def work_order_confirm(
    *, work_order_id: int, user: User, request: HttpRequest | None = None
) -> WorkOrderTransition:
    """The manufacturer confirms that the answer solved it: Waiting for your confirmation to
    Completed."""
    return work_order_transition(
        work_order_id=work_order_id,
        user=user,
        side=Side.MANUFACTURER,
        to_status=Status.COMPLETED,
        request=request,
    )


def work_order_close(
    *, work_order_id: int, user: User, side: Side, request: HttpRequest | None = None
) -> WorkOrderTransition:
    return work_order_transition(
        work_order_id=work_order_id, user=user, side=side, to_status=Status.CLOSED, request=request
    )


def work_order_assign(
    *,
    work_order_id: int,
    assignee: User | None,
    user: User,
    request: HttpRequest | None = None,
) -> WorkOrder:
    """Assign to a staff user (or to no one). Assigning a work order that is To be dispatched
    makes it To be processed, which the manufacturer is told of."""
    if assignee is not None and not (assignee.is_staff and assignee.is_active):
        raise WorkOrderError("assignee_not_staff")
    with busy_refused_as(WorkOrderError), transaction.atomic():
        work_order = _lock(work_order_id)
        _check_side(work_order=work_order, user=user, side=Side.STAFF)
        previous = work_order.assignee_id
        work_order.assignee = assignee
        work_order.save(update_fields=["assignee"])
        audit_record(
            action="workorders.assigned",
            actor=user,
            obj=work_order,
            manufacturer=work_order.manufacturer,
            request=request,
            details={
                **_about_order(work_order),
                "from": previous,
                "to": assignee.pk if assignee else None,
                "to_username": assignee.get_username() if assignee else "",
            },
        )
        if assignee is not None and work_order.status == Status.TO_BE_DISPATCHED:
            _apply_transition(
                work_order=work_order,
                to_status=Status.TO_BE_PROCESSED,
                user=user,
                side=Side.STAFF,
                request=request,
            )
    return work_order


def work_order_tool_attach(
    *,
    work_order_id: int,
    user: User,
    tool_file: UploadedFile | None = None,
    tool_link: str = "",
    tool_key: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> WorkOrder:
    """Staff attach the refurbishment tool: a file (kept in private storage) or a link.

    It replaces an earlier tool (whose file is deleted after the commit). A work order still
    open moves to "Waiting for your confirmation"; the submitter is told that the tool is
    ready. A closed work order takes no tool. ``tool_key`` comes from the attach form as
    rendered: the same form sent again (a double click) changes, audits and emails nothing.
    """
    tool_link = (tool_link or "").strip()
    if tool_file is None and not tool_link:
        raise WorkOrderError("tool_missing")
    if tool_file is not None and tool_link:
        raise WorkOrderError("tool_both")
    if tool_link and not tool_link.lower().startswith(("https://", "http://")):
        raise WorkOrderError("tool_link_scheme")
    if tool_file is not None and (tool_file.size or 0) > files.tool_max_bytes():
        raise WorkOrderError(
            "tool_too_large",
            size=filesizeformat(tool_file.size or 0),
            limit=filesizeformat(files.tool_max_bytes()),
        )
    if tool_file is not None:
        # Checked by content like the manufacturers' uploads: it is what they will run.
        files.upload_type_check(tool_file)
    stored = files.file_save(upload=tool_file, folder="tools") if tool_file is not None else ""
    with busy_refused_as(WorkOrderError), _deleted_on_failure([stored]), transaction.atomic():
        work_order = _lock(work_order_id)
        _check_side(work_order=work_order, user=user, side=Side.STAFF)
        if tool_key is not None and work_order.tool_key == tool_key:
            files.files_delete([stored])
            return work_order
        if work_order.status == Status.CLOSED:
            raise WorkOrderError("not_open", status=work_order.get_status_display())
        replaced = work_order.tool_storage_name
        work_order.tool_storage_name = stored
        work_order.tool_file_name = (
            files.clean_file_name(tool_file.name or "") if tool_file is not None else ""
        )
        work_order.tool_size_bytes = tool_file.size if tool_file is not None else None
        work_order.tool_link = tool_link
        work_order.tool_attached_at = timezone.now()
        work_order.tool_attached_by = user
        work_order.tool_key = tool_key
        work_order.save(
            update_fields=[
                "tool_key",
                "tool_storage_name",
                "tool_file_name",
                "tool_size_bytes",
                "tool_link",
                "tool_attached_at",
                "tool_attached_by",
            ]
        )
        # The status first: the tool's notice, made from its audit event, tells the new one.
        if is_allowed(
            from_status=work_order.status,
            to_status=Status.AWAITING_CONFIRMATION,
            side=Side.STAFF,
        ):
            _apply_transition(
                work_order=work_order,
                to_status=Status.AWAITING_CONFIRMATION,
                user=user,
                side=Side.STAFF,
                request=request,
                told_with="tool",
            )
        audit_record(
            action="workorders.tool_attached",
            actor=user,
            obj=work_order,
            manufacturer=work_order.manufacturer,
            request=request,
            details={
                **_about_order(work_order),
                "file": work_order.tool_file_name,
                "size": work_order.tool_size_bytes,
                "link": tool_link,
            },
        )
        if replaced:
            transaction.on_commit(lambda: files.files_delete([replaced]), robust=True)
    return work_order


def tool_download_record(
    *, work_order: WorkOrder, user: User, request: HttpRequest | None = None
) -> ToolDownload:
    """Record one download of the tool (who, when, from where) and audit it.

    The caller has checked that ``user`` may see the work order (its manufacturer, or staff).
    """
    if not work_order.has_tool:
        raise WorkOrderError("tool_not_attached")
    with transaction.atomic():
        download = ToolDownload.objects.create(
            work_order=work_order, user=user, ip_address=client_ip(request)
        )
        audit_record(
            action="workorders.tool_downloaded",
            actor=user,
            obj=work_order,
            manufacturer=work_order.manufacturer,
            request=request,
            details={
                **_about_order(work_order),
                "file": work_order.tool_file_name,
                "link": work_order.tool_link,
                "download_id": download.pk,
            },
        )
    return download


def attachment_download_record(
    *, attachment: WorkOrderAttachment, user: User, request: HttpRequest | None = None
) -> None:
    """Audit one download of a work-order attachment (caller has checked access)."""
    audit_record(
        action="workorders.attachment_downloaded",
        actor=user,
        obj=attachment.work_order,
        manufacturer=attachment.work_order.manufacturer,
        request=request,
        details={
            **_about_order(attachment.work_order),
            "attachment_id": attachment.pk,
            "file": attachment.file_name,
        },
    )
