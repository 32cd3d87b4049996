from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from django.db.models.signals import pre_save

        from audit.models import AuditEvent
        from webhooks import signals

        # Business events are already in the audit trail, recorded by their one writer inside
        # its transaction; following that trail means no service has to know about webhooks.
        pre_save.connect(signals.on_audit_event, sender=AuditEvent, dispatch_uid="webhooks_emit")
