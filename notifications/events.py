"""Which audit events are told to whom, with what details and link.

Read inside the transaction that records the audit event, from the rows it names, so a notice
tells exactly what was committed (and nothing when it rolls back).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.urls import reverse

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from notifications import kinds
from tokens.models import TokenFile
from workorders.models import WorkOrder, WorkOrderMessage


@dataclass(frozen=True)
class Telling:
    """What one audit event tells: the kind, its details, and who is told where."""

    kind: str
    params: dict[str, object]
    # (user, link to open): each is told by email and in the portal, as they chose.
    users: list[tuple[User, str]] = field(default_factory=list)
    # A manufacturer's shared address, told by email only (in the acting user's language).
    manufacturer: Manufacturer | None = None
    manufacturer_link: str = ""
    manufacturer_language: str = ""


def _active(users: list[User]) -> list[User]:
    return [user for user in users if user.is_active]


def _token_file(event: AuditEvent) -> Telling | None:
    token_file = (
        TokenFile.objects.select_related(
            "delivery__order__manufacturer",
            "delivery__taken_by__manufacturer",
            "original_delivery__order__manufacturer",
        )
        .filter(pk=int(event.object_id))
        .first()
    )
    if token_file is None:
        return None
    # A new delivery's file tells who took it; an original delivery's (recorded by staff) tells
    # the manufacturer's address only, and its failure staff.
    delivery = token_file.delivery
    order = token_file.order
    source = delivery if delivery is not None else token_file.original_delivery
    assert source is not None
    failed = event.action == "tokens.file_failed"
    link = reverse("deliveries:order_delivery_list", kwargs={"number": order.number})
    taker = delivery.taken_by if delivery is not None else None
    telling = Telling(
        kind=kinds.FILE_FAILED if failed else kinds.FILE_READY,
        params={"order": order.number, "delivery": source.number, "quantity": source.quantity},
        users=[(user, link) for user in _active([taker] if taker else [])],
        manufacturer=order.manufacturer if order.manufacturer.notification_email else None,
        manufacturer_link=link,
        manufacturer_language=(taker.language if taker else "") or settings.LANGUAGE_CODE,
    )
    if failed:
        staff_link = reverse("admin:tokens_tokenfile_change", args=[token_file.pk])
        staff = User.objects.filter(is_staff=True, is_active=True).order_by("pk")
        telling.users.extend((user, staff_link) for user in staff)
    return telling


def _staff(*, assignee_id: int | None = None) -> list[User]:
    """The active assignee when there is one, else every active staff user."""
    staff = User.objects.filter(is_staff=True, is_active=True).order_by("pk")
    assigned = list(staff.filter(pk=assignee_id)) if assignee_id is not None else []
    return assigned or list(staff)


def _to_staff(work_order: WorkOrder, kind: str, params: dict[str, object]) -> Telling:
    link = reverse("admin:workorders_workorder_change", args=[work_order.pk])
    assignee = work_order.assignee_id if kind == kinds.WORK_ORDER_ANSWERED else None
    return Telling(
        kind=kind, params=params, users=[(u, link) for u in _staff(assignee_id=assignee)]
    )


def _to_manufacturer(work_order: WorkOrder, kind: str, params: dict[str, object]) -> Telling:
    """The submitter (if still active), and the company's notification address."""
    link = reverse("workorders:detail", args=[work_order.pk])
    company = work_order.manufacturer
    return Telling(
        kind=kind,
        params=params,
        users=[(user, link) for user in _active([work_order.submitted_by])],
        manufacturer=company if company.notification_email else None,
        manufacturer_link=link,
        manufacturer_language=work_order.submitted_by.language or settings.LANGUAGE_CODE,
    )


def _work_order(event: AuditEvent) -> Telling | None:
    """Work orders: a submission and a manufacturer's reply tell staff; a staff reply, the tool
    and a status changed by staff tell the submitter and the company's address. A status
    changed with a reply or the tool is told by that one notice (``details["with"]``)."""
    by_staff = event.details.get("by") == "staff"
    if event.action == "workorders.status_changed" and (not by_staff or event.details.get("with")):
        return None
    work_order = (
        WorkOrder.objects.select_related("submitted_by", "manufacturer", "order")
        .filter(pk=int(event.object_id))
        .first()
    )
    if work_order is None:
        return None
    params: dict[str, object] = {"number": work_order.number, "status": work_order.status}
    if event.action == "workorders.submitted":
        params.update(
            manufacturer=work_order.manufacturer.name,
            message=work_order.description,
            contact=work_order.contact,
            order=work_order.order.number if work_order.order else "",
        )
        return _to_staff(work_order, kinds.WORK_ORDER_SUBMITTED, params)
    if event.action == "workorders.replied":
        message = WorkOrderMessage.objects.filter(pk=event.details.get("message_id")).first()
        params["message"] = message.body if message is not None else ""
        if not by_staff:
            params["manufacturer"] = work_order.manufacturer.name
            return _to_staff(work_order, kinds.WORK_ORDER_ANSWERED, params)
        return _to_manufacturer(work_order, kinds.WORK_ORDER_REPLIED, params)
    if event.action == "workorders.tool_attached":
        return _to_manufacturer(work_order, kinds.WORK_ORDER_TOOL, params)
    params["status"] = event.details.get("to", work_order.status)
    return _to_manufacturer(work_order, kinds.WORK_ORDER_STATUS, params)


READERS = {
    "tokens.file_ready": _token_file,
    "tokens.file_failed": _token_file,
    "workorders.submitted": _work_order,
    "workorders.replied": _work_order,
    "workorders.tool_attached": _work_order,
    "workorders.status_changed": _work_order,
}


def telling_for(event: AuditEvent) -> Telling | None:
    """What ``event`` tells and to whom, or None for an event no one is told of."""
    reader = READERS.get(event.action)
    if reader is None or not event.object_id.isdigit():
        return None
    return reader(event)
