from __future__ import annotations

from axes.apps import AppConfig as AxesConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.apps import DefaultConfig as OTPStaticConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as OTPTOTPConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from accounts import signals

        user_logged_in.connect(signals.on_logged_in, dispatch_uid="accounts_session_start")
        user_login_failed.connect(signals.on_login_failed, dispatch_uid="accounts_throttle")


# Third-party apps under the names staff read in the admin (their own are "Otp_Totp" and the
# like). Same labels and models: only the heading changes.
class TwoFactorAppsConfig(OTPTOTPConfig):
    verbose_name = _("Two-factor: authenticator apps")


class TwoFactorBackupCodesConfig(OTPStaticConfig):
    verbose_name = _("Two-factor: backup codes")


class LogInLockoutsConfig(AxesConfig):
    verbose_name = _("Log-in attempts and lockouts")
