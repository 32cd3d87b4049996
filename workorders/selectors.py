"""Reads of work orders. Every portal read is scoped to one manufacturer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.http import urlencode

from accounts.models import Manufacturer, User
from orders.models import PurchaseOrder
from workorders.models import (
    WorkOrder,
    WorkOrderAttachment,
    WorkOrderMessage,
    WorkOrderTransition,
)
from workorders.transitions import OPEN_STATUSES, Side, is_allowed


def work_order_list(*, manufacturer: Manufacturer, status: str = "") -> QuerySet[WorkOrder]:
    """A manufacturer's work orders, newest first."""
    qs = WorkOrder.objects.filter(manufacturer=manufacturer).select_related("order")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def work_order_for_manufacturer(*, manufacturer: Manufacturer, pk: int) -> WorkOrder | None:
    """The work order ``pk`` if it belongs to ``manufacturer``; None otherwise (a 404)."""
    return (
        WorkOrder.objects.filter(manufacturer=manufacturer, pk=pk)
        .select_related("order", "submitted_by", "assignee")
        .first()
    )


def manufacturer_orders(*, manufacturer: Manufacturer) -> QuerySet[PurchaseOrder]:
    """The orders a work order of ``manufacturer`` may refer to."""
    return PurchaseOrder.objects.filter(manufacturer=manufacturer).order_by("-created_at", "-id")


@dataclass(frozen=True)
class ConversationEntry:
    """One entry of the conversation: the submission itself, or a reply."""

    author: User
    from_staff: bool
    body: str
    created_at: datetime
    attachments: list[WorkOrderAttachment]


def work_order_conversation(*, work_order: WorkOrder) -> list[ConversationEntry]:
    """The submission and every reply, oldest first, each with its attachments."""
    submission_files = list(work_order.attachments.filter(message__isnull=True))
    entries = [
        ConversationEntry(
            author=work_order.submitted_by,
            from_staff=False,
            body=work_order.description,
            created_at=work_order.created_at,
            attachments=submission_files,
        )
    ]
    replies = (
        WorkOrderMessage.objects.filter(work_order=work_order)
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )
    entries.extend(
        ConversationEntry(
            author=reply.author,
            from_staff=reply.from_staff,
            body=reply.body,
            created_at=reply.created_at,
            attachments=list(reply.attachments.all()),
        )
        for reply in replies
    )
    return entries


@dataclass(frozen=True)
class ManufacturerActions:
    """Which buttons the manufacturer's page offers, from the one transition table."""

    can_reply: bool
    can_confirm: bool
    can_close: bool


def manufacturer_actions(*, work_order: WorkOrder) -> ManufacturerActions:
    """What the manufacturer may do with ``work_order`` in its current status
    (``workorders.transitions``); the services check the same table again under the lock."""
    status = work_order.status
    return ManufacturerActions(
        can_reply=status in OPEN_STATUSES,
        can_confirm=is_allowed(
            from_status=status, to_status=WorkOrder.Status.COMPLETED, side=Side.MANUFACTURER
        ),
        can_close=is_allowed(
            from_status=status, to_status=WorkOrder.Status.CLOSED, side=Side.MANUFACTURER
        ),
    )


def work_order_history(*, work_order: WorkOrder) -> QuerySet[WorkOrderTransition]:
    return work_order.transitions.select_related("actor").order_by("occurred_at", "id")


def tool_request_for_manufacturer(*, manufacturer: Manufacturer) -> WorkOrder | None:
    """The manufacturer's latest refurbishment-tool request, whatever its status."""
    return (
        WorkOrder.objects.filter(manufacturer=manufacturer, type=WorkOrder.Type.TOOL)
        .order_by("-created_at", "-id")
        .first()
    )


def tool_request_url(*, order: PurchaseOrder | None = None) -> str:
    """The submit form, prefilled as a refurbishment-tool request (and with the order)."""
    query = {"type": WorkOrder.Type.TOOL.value}
    if order is not None:
        query["order"] = order.number
    return f"{reverse('workorders:submit')}?{urlencode(query)}"


def manufacturer_recipients(*, manufacturer_id: int) -> list[str]:
    """The email addresses of the manufacturer's active users."""
    return list(
        User.objects.filter(manufacturer_id=manufacturer_id, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)
    )
