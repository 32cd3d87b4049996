"""Third-party apps under the names staff read in the admin (their own are "Otp_Totp" and the
like). Same labels and models: only the heading changes.

A module of their own: ``accounts/apps.py`` must hold one app config only, or Django stops
choosing ``AccountsConfig`` for ``accounts`` (and its ``ready()``, which connects the log-in
signals, would not run).
"""

from __future__ import annotations

from axes.apps import AppConfig as AxesConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django_otp.plugins.otp_static.apps import DefaultConfig as OTPStaticConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as OTPTOTPConfig
from django_stubs_ext import StrOrPromise


def _name_models(config: AppConfig, names: dict[str, tuple[StrOrPromise, StrOrPromise]]) -> None:
    """Give models that have no ``verbose_name`` of their own (django-otp's: Django derives
    an untranslated ``static device`` from the class name) our translated names. Only the
    names shown change: migrations read a model's own ``Meta`` (``original_attrs``)."""
    for model_name, (singular, plural) in names.items():
        meta = config.get_model(model_name)._meta
        meta.verbose_name = singular
        meta.verbose_name_plural = plural


class TwoFactorAppsConfig(OTPTOTPConfig):
    verbose_name = _("Two-factor: authenticator apps")

    def ready(self) -> None:
        super().ready()
        _name_models(self, {"TOTPDevice": (_("TOTP device"), _("TOTP devices"))})


class TwoFactorBackupCodesConfig(OTPStaticConfig):
    verbose_name = _("Two-factor: backup codes")

    def ready(self) -> None:
        super().ready()
        _name_models(
            self,
            {
                "StaticDevice": (_("static device"), _("static devices")),
                "StaticToken": (_("static token"), _("static tokens")),
            },
        )


class LogInLockoutsConfig(AxesConfig):
    verbose_name = _("Log-in attempts and lockouts")


# Words of django-axes and of Django itself the admin shows that their own catalogues have no
# Simplified Chinese for: axes' model names, and Django 6.1's empty choice of a select. Kept
# here so that ``makemessages`` keeps them in our catalogue, whose translations come first
# (``LOCALE_PATHS``); their own lazy strings then read in Chinese.
THIRD_PARTY_WORDS = (
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("- Select an option -"),
)
