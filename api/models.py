"""API keys: how a factory's own systems act for a manufacturer without a browser.

A key is shown once when it is made; only its SHA-256 is kept. The key is 256 random bits, so a
fast hash is enough (nothing to brute-force as with a password); the visible ``prefix`` finds the
row and names the key in lists and the audit trail.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Manufacturer


class ApiKey(models.Model):
    """One key of a manufacturer. Written only by ``api.services``."""

    class Scope(models.TextChoices):
        READ = "read", _("Read orders and deliveries")
        TAKE = "take", _("Take new deliveries")
        DOWNLOAD = "download", _("Download token files")
        WORK_ORDERS = "work_orders", _("Work orders")

    manufacturer = models.ForeignKey(
        Manufacturer,
        verbose_name=_("manufacturer"),
        on_delete=models.PROTECT,
        related_name="api_keys",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    # The key of the form that made it: a resent form makes no second key.
    form_key = models.UUIDField(_("form key"), null=True, blank=True, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        constraints = [
            models.CheckConstraint(
                condition=Q(key_hash__regex=r"^[0-9a-f]{64}$"), name="api_key_hash_well_formed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active(self, now: dt.datetime | None = None) -> bool:
        """Not revoked and not expired at ``now`` (default: the current time)."""
        moment = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > moment

    @property
    def display_prefix(self) -> str:
        """How the key begins, to recognise it: ``rpk_<prefix>_…``."""
        return f"rpk_{self.prefix}_…"

    def scope_labels(self) -> list[str]:
        labels = dict(self.Scope.choices)
        return [str(labels.get(scope, scope)) for scope in self.scopes]
