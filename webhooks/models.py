"""Webhook endpoints of a manufacturer, the events sent to them, and every attempt."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Manufacturer
from refurb_portal.formats import local_datetime

# The events a manufacturer may subscribe to (names as in the API documentation).
EVENT_TYPES: dict[str, object] = {
    "delivery.taken": _("A new delivery was taken"),
    "token_file.ready": _("A token file is ready to download"),
    "token_file.failed": _("A token file could not be made"),
    "order.delivered": _("An original delivery raised an order's available count"),
    "delivery.voided": _("A new delivery was voided"),
    "work_order.updated": _("A work order was submitted, answered or changed status"),
}


class WebhookEndpoint(models.Model):
    """An HTTPS URL that receives the chosen events, signed with its secret (Standard Webhooks).

    The secret must be kept to sign; it is shown in full only once, when the endpoint is added.
    """

    manufacturer = models.ForeignKey(
        Manufacturer,
        verbose_name=_("manufacturer"),
        on_delete=models.PROTECT,
        related_name="webhook_endpoints",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    # The key of the form that added it: a resent form adds no second endpoint.
    form_key = models.UUIDField(_("form key"), null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    # The event types by name, for other apps that read them through the app registry.
    EVENT_TYPES: ClassVar[dict[str, object]] = EVENT_TYPES

    def __str__(self) -> str:
        return self.url

    def event_labels(self) -> list[str]:
        return [str(EVENT_TYPES.get(event, event)) for event in self.events]


class WebhookMessage(models.Model):
    """One event for one endpoint, sent until it succeeds or the retry period ends."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Sending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Gave up")

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("endpoint"),
        on_delete=models.CASCADE,
        related_name="messages",
    )
    msg_id = models.CharField(_("message id"), max_length=40, unique=True)
    event_type = models.CharField(_("event"), max_length=40)
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempt_count = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True, db_index=True)
    succeeded_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook message")
        verbose_name_plural = _("webhook messages")

    def __str__(self) -> str:
        return f"{self.event_type} {self.msg_id}"


class WebhookAttempt(models.Model):
    """One try to deliver a message: when, the answer's status or the error, how long."""

    message = models.ForeignKey(
        WebhookMessage,
        verbose_name=_("message"),
        on_delete=models.CASCADE,
        related_name="attempts",
    )
    attempted_at = models.DateTimeField(_("when"), default=timezone.now)
    status_code = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    succeeded = models.BooleanField(_("succeeded"), default=False)
    manual = models.BooleanField(_("sent again by hand"), default=False)

    class Meta:
        ordering = ["attempted_at", "id"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")

    def __str__(self) -> str:
        return f"{self.message} @ {local_datetime(self.attempted_at)}"
