from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth import signals as auth_signals

        from audit import signals

        auth_signals.user_logged_in.connect(signals.on_logged_in, dispatch_uid="audit_login")
        auth_signals.user_logged_out.connect(signals.on_logged_out, dispatch_uid="audit_logout")
        auth_signals.user_login_failed.connect(
            signals.on_login_failed, dispatch_uid="audit_login_failed"
        )
        user_locked_out.connect(signals.on_locked_out, dispatch_uid="audit_locked_out")
