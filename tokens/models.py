from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from deliveries.models import NewDelivery
from orders.models import Product


class TokenFile(models.Model):
    """The job row and the result of making one new delivery's tokens and CSV file.

    It is created PENDING in the same transaction as its delivery, so it is also the outbox: a
    sweeper re-sends any job that the broker never received.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        GENERATING = "generating", _("Generating")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    delivery = models.OneToOneField(
        NewDelivery, verbose_name=_("delivery"), on_delete=models.PROTECT, related_name="file"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    total = models.PositiveIntegerField(_("total"))
    done = models.PositiveIntegerField(_("done"), default=0)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    enqueued_at = models.DateTimeField(_("enqueued"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("heartbeat"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    storage_name = models.CharField(_("stored as"), max_length=255, blank=True)
    size_bytes = models.BigIntegerField(_("size in bytes"), null=True, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("token file")
        verbose_name_plural = _("token files")
        constraints = [
            models.CheckConstraint(
                condition=Q(done__lte=models.F("total")), name="file_done_le_total"
            )
        ]

    def __str__(self) -> str:
        return self.file_name

    @property
    def file_name(self) -> str:
        return f"{self.delivery.order.number}-{self.delivery.number}-tokens.csv"


class Token(models.Model):
    """One device credential, burned into one module. Issued once, unique across the platform."""

    delivery = models.ForeignKey(
        NewDelivery, verbose_name=_("delivery"), on_delete=models.PROTECT, related_name="tokens"
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    uuid = models.CharField(_("UUID"), max_length=20, unique=True)
    auth_key = models.CharField(_("AuthKey"), max_length=32, unique=True)

    class Meta:
        verbose_name = _("token")
        verbose_name_plural = _("tokens")

    def __str__(self) -> str:
        return self.uuid
