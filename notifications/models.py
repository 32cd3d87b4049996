"""In-portal notices, each user's choices of what to be told, and the email outbox."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Manufacturer
from notifications.kinds import KINDS, notice_text

KIND_CHOICES = [(code, kind.label) for code, kind in KINDS.items()]


class Notice(models.Model):
    """One thing a user is told in the portal (the bell in the header, the Notifications page)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notices",
    )
    kind = models.CharField(_("kind"), max_length=40, choices=KIND_CHOICES)
    params = models.JSONField(_("details"), default=dict)
    link = models.CharField(_("link"), max_length=300, blank=True)
    # The audit event it tells of: one notice per user and event, whatever replays the signal.
    audit_event_id = models.BigIntegerField(_("audit event"))
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "audit_event_id", "kind"], name="notice_once_per_user_event"
            )
        ]
        indexes = [models.Index(fields=["user", "read_at"], name="notice_user_unread")]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return notice_text(self.kind, KINDS[self.kind].title, self.params)


class NotificationPreference(models.Model):
    """A user's choice for one kind; no row means both channels are on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    kind = models.CharField(_("kind"), max_length=40, choices=KIND_CHOICES)
    email = models.BooleanField(_("by email"), default=True)
    portal = models.BooleanField(_("in the portal"), default=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_pref_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}"


class EmailNotice(models.Model):
    """One email to send (the outbox): written in the transaction of the event it tells of,
    sent by a worker after the commit, tried again with growing pauses when the mail server
    fails (``notifications.services.email_notice_send``)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=40, choices=KIND_CHOICES)
    to_address = models.EmailField(_("to"))
    # The user it is for, or none for a manufacturer's shared address.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    manufacturer = models.ForeignKey(
        Manufacturer,
        verbose_name=_("manufacturer"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    language = models.CharField(_("language"), max_length=10)
    time_zone = models.CharField(_("time zone"), max_length=64)
    params = models.JSONField(_("details"), default=dict)
    link = models.CharField(_("link"), max_length=300, blank=True)
    audit_event_id = models.BigIntegerField(_("audit event"))
    occurred_at = models.DateTimeField(_("when"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempt_count = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("notification email")
        verbose_name_plural = _("notification emails")
        constraints = [
            models.UniqueConstraint(
                fields=["to_address", "audit_event_id", "kind"], name="email_notice_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="email_notice_pending",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_address}"
