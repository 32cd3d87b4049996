"""Third-party apps under the names staff read in the admin (their own are "Otp_Totp" and the
like). Same labels and models: only the heading changes.

A module of their own: ``accounts/apps.py`` must hold one app config only, or Django stops
choosing ``AccountsConfig`` for ``accounts`` (and its ``ready()``, which connects the log-in
signals, would not run).
"""

from __future__ import annotations

from axes.apps import AppConfig as AxesConfig
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.apps import DefaultConfig as OTPStaticConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as OTPTOTPConfig


class TwoFactorAppsConfig(OTPTOTPConfig):
    verbose_name = _("Two-factor: authenticator apps")


class TwoFactorBackupCodesConfig(OTPStaticConfig):
    verbose_name = _("Two-factor: backup codes")


class LogInLockoutsConfig(AxesConfig):
    verbose_name = _("Log-in attempts and lockouts")
