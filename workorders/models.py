from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from accounts.models import Manufacturer
from orders.models import PurchaseOrder
from refurb_portal.formats import local_datetime


class WorkOrder(models.Model):
    """A manufacturer's support request, mainly "send me the refurbishment tool" (rule R12).

    ``status`` changes only through ``workorders.services.work_order_transition`` and the
    services built on it, which follow ``workorders.transitions.TRANSITIONS`` and record each
    change as a ``WorkOrderTransition``.
    """

    class Type(models.TextChoices):
        TOOL = "tool", _("Request refurbishment tool")
        OTHER = "other", _("Other question")

    class Status(models.TextChoices):
        TO_BE_DISPATCHED = "to_dispatch", _("To be dispatched")
        TO_BE_PROCESSED = "to_process", _("To be processed")
        PROCESSING = "processing", _("Processing")
        AWAITING_CONFIRMATION = "awaiting_confirmation", _("Waiting for your confirmation")
        AWAITING_FEEDBACK = "awaiting_feedback", _("Waiting for your feedback")
        COMPLETED = "completed", _("Completed")
        CLOSED = "closed", _("Closed")

    # The labels above speak to the manufacturer ("Waiting for your feedback"); staff read the
    # same statuses in their own words (the admin, the staff's Activity).
    STAFF_STATUS_LABELS: ClassVar[dict[str, StrOrPromise]] = {
        Status.TO_BE_DISPATCHED: _("To be dispatched"),
        Status.TO_BE_PROCESSED: _("To be processed"),
        Status.PROCESSING: _("Processing"),
        Status.AWAITING_CONFIRMATION: _("Waiting for the manufacturer's confirmation"),
        Status.AWAITING_FEEDBACK: _("Waiting for the manufacturer's feedback"),
        Status.COMPLETED: _("Completed"),
        Status.CLOSED: _("Closed"),
    }

    manufacturer = models.ForeignKey(
        Manufacturer,
        verbose_name=_("manufacturer"),
        on_delete=models.PROTECT,
        related_name="work_orders",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    type = models.CharField(_("type"), max_length=10, choices=Type.choices)
    order = models.ForeignKey(
        PurchaseOrder,
        verbose_name=_("purchase order"),
        on_delete=models.PROTECT,
        related_name="work_orders",
        null=True,
        blank=True,
    )
    description = models.TextField(_("description"))
    contact = models.CharField(_("contact"), max_length=200)
    status = models.CharField(
        _("status"),
        max_length=24,
        choices=Status.choices,
        default=Status.TO_BE_DISPATCHED,
        db_index=True,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        related_name="assigned_work_orders",
        null=True,
        blank=True,
        limit_choices_to={"is_staff": True},
    )
    created_at = models.DateTimeField(_("submitted"), default=timezone.now, db_index=True)
    status_changed_at = models.DateTimeField(_("status changed"), default=timezone.now)
    # The refurbishment tool, attached by staff: a file in private storage, or a link.
    tool_storage_name = models.CharField(_("tool file stored as"), max_length=255, blank=True)
    tool_file_name = models.CharField(_("tool file name"), max_length=255, blank=True)
    tool_size_bytes = models.BigIntegerField(_("tool file size in bytes"), null=True, blank=True)
    tool_link = models.URLField(_("tool link"), max_length=500, blank=True)
    tool_attached_at = models.DateTimeField(_("tool attached"), null=True, blank=True)
    tool_attached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("tool attached by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    # Set from the form rendered for this submission, so a double click submits once.
    submission_key = models.UUIDField(_("submission key"), unique=True, editable=False)
    # The key of the attach-tool form that attached the current tool: sent again, it is a no-op.
    tool_key = models.UUIDField(_("tool key"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        indexes = [models.Index(fields=["manufacturer", "-created_at", "-id"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(description=""), name="work_order_description_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(tool_storage_name="") | Q(tool_link=""),
                name="work_order_tool_file_or_link",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"WO-{self.pk:06d}" if self.pk else "WO-new"

    def get_staff_status_display(self) -> str:
        """The status in staff's words (``STAFF_STATUS_LABELS``)."""
        return str(self.STAFF_STATUS_LABELS.get(self.status, self.status))

    @property
    def has_tool(self) -> bool:
        return bool(self.tool_storage_name or self.tool_link)


class WorkOrderMessage(models.Model):
    """One reply in a work order's conversation, from the manufacturer or from staff."""

    work_order = models.ForeignKey(
        WorkOrder, verbose_name=_("work order"), on_delete=models.CASCADE, related_name="messages"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    from_staff = models.BooleanField(_("from staff"))
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("sent"), default=timezone.now, db_index=True)
    # Set from the reply form as rendered, so a double click or a resent request replies once.
    reply_key = models.UUIDField(_("reply key"), unique=True, null=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("work order message")
        verbose_name_plural = _("work order messages")
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="work_order_message_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.work_order.number} #{self.pk}"


class WorkOrderAttachment(models.Model):
    """A file a manufacturer attached to a work order or to one of its replies."""

    work_order = models.ForeignKey(
        WorkOrder,
        verbose_name=_("work order"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    message = models.ForeignKey(
        WorkOrderMessage,
        verbose_name=_("message"),
        on_delete=models.CASCADE,
        related_name="attachments",
        null=True,
        blank=True,
    )
    storage_name = models.CharField(_("stored as"), max_length=255)
    file_name = models.CharField(_("file name"), max_length=255)
    size_bytes = models.BigIntegerField(_("size in bytes"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.file_name


class WorkOrderTransition(models.Model):
    """One status change of a work order: from what, to what, who, when. Append-only."""

    work_order = models.ForeignKey(
        WorkOrder,
        verbose_name=_("work order"),
        on_delete=models.CASCADE,
        related_name="transitions",
    )
    from_status = models.CharField(
        _("from"), max_length=24, choices=WorkOrder.Status.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=24, choices=WorkOrder.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    by_staff = models.BooleanField(_("by staff"))
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")

    def __str__(self) -> str:
        return f"{self.get_from_status_display() or '—'} → {self.get_to_status_display()}"


class ToolDownload(models.Model):
    """One download of a work order's refurbishment tool (the file, or a follow of the link)."""

    work_order = models.ForeignKey(
        WorkOrder,
        verbose_name=_("work order"),
        on_delete=models.CASCADE,
        related_name="tool_downloads",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    downloaded_at = models.DateTimeField(_("when"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)

    class Meta:
        ordering = ["-downloaded_at", "-id"]
        verbose_name = _("tool download")
        verbose_name_plural = _("tool downloads")

    def __str__(self) -> str:
        return f"{self.work_order.number} {local_datetime(self.downloaded_at)}"
