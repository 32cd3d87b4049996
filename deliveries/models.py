from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import Product, PurchaseOrder


class NewDelivery(models.Model):
    """A free re-issue of new tokens against a delivered order, for refurbishment.

    Rows are written only by ``deliveries.services.new_delivery_take`` under the order's row lock.
    """

    order = models.ForeignKey(
        PurchaseOrder,
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        related_name="new_deliveries",
    )
    sequence = models.PositiveIntegerField(_("sequence"))
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    taken_at = models.DateTimeField(_("taken"), default=timezone.now, db_index=True)
    idempotency_key = models.UUIDField(_("idempotency key"), unique=True, editable=False)

    class Meta:
        ordering = ["-taken_at", "-id"]
        verbose_name = _("new delivery")
        verbose_name_plural = _("new deliveries")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="new_delivery_quantity_pos"),
            models.UniqueConstraint(fields=["order", "sequence"], name="new_delivery_unique_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.order.number}-{self.number}"

    @property
    def number(self) -> str:
        """The delivery number shown to people and used in file names, unique within its order."""
        return f"N{self.sequence:03d}"
