from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models.signals import post_save

        from accounts import signals
        from accounts.models import User

        user_logged_in.connect(signals.on_logged_in, dispatch_uid="accounts_session_start")
        user_login_failed.connect(signals.on_login_failed, dispatch_uid="accounts_throttle")
        post_save.connect(signals.on_user_saved, sender=User, dispatch_uid="accounts_deactivated")
