from __future__ import annotations

from datetime import datetime, timedelta

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import Product, PurchaseOrder
from refurb_portal.identifiers import new_delivery_number
from refurb_portal.triggers import correction_has_reason, refuse, refuse_at_commit, writer_is_not
from refurb_portal.writers import NEW_DELIVERY


class NewDelivery(models.Model):
    """A free re-issue of new tokens against a delivered order, for refurbishment.

    Rows are written only by ``deliveries.services`` under the order's row lock: taken by
    ``new_delivery_take``, voided (rule R14) by ``new_delivery_void``. A voided delivery keeps
    its row and its revoked tokens; it no longer counts in the order's ``new_tokens_delivered``.
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
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("voided by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    void_reason = models.CharField(_("reason for voiding"), max_length=500, blank=True)

    class Meta:
        ordering = ["-taken_at", "-id"]
        verbose_name = _("new delivery")
        verbose_name_plural = _("new deliveries")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="new_delivery_quantity_pos"),
            models.UniqueConstraint(fields=["order", "sequence"], name="new_delivery_unique_seq"),
            correction_has_reason(
                at="voided_at", reason="void_reason", name="new_delivery_void_has_reason"
            ),
        ]
        triggers = [
            refuse(
                name="new_delivery_by_service",
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=writer_is_not(NEW_DELIVERY),
                message="new deliveries are changed only by their service",
            ),
            refuse_at_commit(
                name="new_delivery_product_same_owner",
                operation=pgtrigger.Insert,
                check="""EXISTS (
                    SELECT 1 FROM deliveries_newdelivery d
                    JOIN orders_product p ON p.id = d.product_id
                    JOIN orders_purchaseorder o ON o.id = d.order_id
                    WHERE d.id = NEW.id AND p.manufacturer_id <> o.manufacturer_id
                )""",
                message="a new delivery is of a product of the manufacturer of its order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.number}-{self.number}"

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None

    @property
    def voidable_by_manufacturer_until(self) -> datetime:
        """Until when the manufacturer's own users may void it (``NEW_DELIVERY_VOID_HOURS``)."""
        return self.taken_at + timedelta(hours=settings.NEW_DELIVERY_VOID_HOURS)

    @property
    def voidable_by_manufacturer(self) -> bool:
        """Shown with the void form: not voided, in its window, its file not being made. A
        download meanwhile is refused by ``new_delivery_void`` itself."""
        token_file = getattr(self, "file", None)
        return (
            not self.is_voided
            and timezone.now() < self.voidable_by_manufacturer_until
            and (token_file is None or token_file.status in {"pending", "ready", "failed"})
        )

    @property
    def number(self) -> str:
        """The delivery number shown to people and used in file names, unique within its order."""
        return new_delivery_number(self.sequence)
