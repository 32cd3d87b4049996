from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from accounts import signals

        user_logged_in.connect(signals.on_logged_in, dispatch_uid="accounts_session_start")
        user_login_failed.connect(signals.on_login_failed, dispatch_uid="accounts_throttle")
