from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from audit.models import AuditEvent
        from notifications import signals

        # As webhooks: the audit trail is written by each event's one writer inside its
        # transaction, so following it means no job or service has to know about notices.
        post_save.connect(
            signals.on_audit_event, sender=AuditEvent, dispatch_uid="notifications_notify"
        )
