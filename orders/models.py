from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Manufacturer
from refurb_portal.identifiers import (
    IDENTIFIER_PATTERN,
    ORDER_NUMBER_MAX_LENGTH,
    identifier_validator,
)
from refurb_portal.triggers import correction_has_reason, refuse, refuse_at_commit, writer_is_not
from refurb_portal.writers import NEW_DELIVERY, ORIGINAL_DELIVERY

# The database's own check of refurb_portal.identifiers (\A and \Z mean the same to Python
# and to PostgreSQL's regular expressions).
IDENTIFIER_REGEX = rf"\A{IDENTIFIER_PATTERN}\Z"


class ProductCategory(models.Model):
    """A node of the platform's category tree, for example Electrical > Power strip."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        related_name="children",
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["parent__name", "name"]
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_unique_name"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(parent__isnull=True), name="category_unique_root"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent} > {self.name}" if self.parent_id else self.name


class Module(models.Model):
    """A Wi-Fi/BLE module model, for example WB3S."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("module")
        verbose_name_plural = _("modules")

    def __str__(self) -> str:
        return self.code


class Product(models.Model):
    """A manufacturer's product on the platform."""

    product_id = models.CharField(
        _("product ID"), max_length=32, unique=True, validators=[identifier_validator]
    )
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(
        ProductCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="+"
    )
    modules = models.ManyToManyField(
        Module, verbose_name=_("modules"), related_name="products", blank=True
    )
    manufacturer = models.ForeignKey(
        Manufacturer,
        verbose_name=_("manufacturer"),
        on_delete=models.PROTECT,
        related_name="products",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(
                condition=Q(product_id__regex=IDENTIFIER_REGEX), name="product_id_identifier"
            ),
        ]
        triggers = [
            # A product stays with the manufacturer of every order it is on and of every new
            # delivery made of it: its tokens must never show in another tenant's portal.
            refuse_at_commit(
                name="product_owner_matches_orders",
                operation=pgtrigger.Update,
                condition="OLD.manufacturer_id IS DISTINCT FROM NEW.manufacturer_id",
                check="""(
                    EXISTS (
                        SELECT 1 FROM orders_purchaseorder_products link
                        JOIN orders_purchaseorder o ON o.id = link.purchaseorder_id
                        WHERE link.product_id = NEW.id
                          AND o.manufacturer_id <> (
                            SELECT manufacturer_id FROM orders_product WHERE id = NEW.id)
                    ) OR EXISTS (
                        SELECT 1 FROM deliveries_newdelivery d
                        JOIN orders_purchaseorder o ON o.id = d.order_id
                        WHERE d.product_id = NEW.id
                          AND o.manufacturer_id <> (
                            SELECT manufacturer_id FROM orders_product WHERE id = NEW.id)
                    ))""",
                message="a product belongs to the manufacturer of its orders and deliveries",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.product_id})"


class PurchaseOrder(models.Model):
    """A module order or a device license order, delivered in parts.

    ``quantity_delivered`` and ``new_tokens_delivered`` are counters kept by services under a row
    lock (``orders.services`` and ``deliveries.services``); the constraints below make the
    database refuse any state that breaks rule R2, whoever writes.
    """

    class OrderType(models.TextChoices):
        MODULE = "module", _("Module order")
        LICENSE = "license", _("Device license order")

    class Status(models.TextChoices):
        AWAITING_DELIVERY = "awaiting", _("Awaiting delivery")
        PARTIALLY_DELIVERED = "partial", _("Partially delivered")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(
        _("order number"),
        max_length=ORDER_NUMBER_MAX_LENGTH,
        unique=True,
        validators=[identifier_validator],
    )
    contract_number = models.CharField(
        _("contract number"), max_length=60, blank=True, validators=[identifier_validator]
    )
    manufacturer = models.ForeignKey(
        Manufacturer,
        verbose_name=_("manufacturer"),
        on_delete=models.PROTECT,
        related_name="purchase_orders",
    )
    order_type = models.CharField(_("order type"), max_length=10, choices=OrderType.choices)
    module = models.ForeignKey(
        Module,
        verbose_name=_("module"),
        on_delete=models.PROTECT,
        related_name="purchase_orders",
        null=True,
        blank=True,
        help_text=_("The ordered module; module orders only."),
    )
    products = models.ManyToManyField(
        Product,
        verbose_name=_("products"),
        related_name="purchase_orders",
        help_text=_(
            "Module order: the products the modules were ordered for. "
            "Device license order: the products the tokens apply to."
        ),
    )
    quantity_ordered = models.PositiveIntegerField(_("ordered"))
    quantity_delivered = models.PositiveIntegerField(_("delivered"), default=0, editable=False)
    new_tokens_delivered = models.PositiveIntegerField(
        _("new tokens delivered"), default=0, editable=False
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.AWAITING_DELIVERY
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        # One index for each sort of the Purchase Order list (orders.selectors
        # .PURCHASE_ORDER_SORTS), each read forwards or backwards after the manufacturer.
        indexes = [
            models.Index(fields=["manufacturer", "-created_at", "-id"]),
            models.Index(fields=["manufacturer", "number", "id"], name="order_manufacturer_number"),
            models.Index(
                fields=["manufacturer", "quantity_ordered", "id"], name="order_manufacturer_ordered"
            ),
            models.Index(
                fields=["manufacturer", "quantity_delivered", "id"],
                name="order_manufacturer_delivered",
            ),
            models.Index(
                F("manufacturer"),
                F("quantity_delivered") - F("new_tokens_delivered"),
                F("id"),
                name="order_manufacturer_available",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_ordered__gte=1), name="order_ordered_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_delivered__gte=0)
                & Q(quantity_delivered__lte=F("quantity_ordered")),
                name="order_delivered_within_ordered",
            ),
            # Rule R2: available = delivered - new tokens delivered is never negative.
            models.CheckConstraint(
                condition=Q(new_tokens_delivered__gte=0)
                & Q(new_tokens_delivered__lte=F("quantity_delivered")),
                name="order_new_tokens_within_delivered",
            ),
            models.CheckConstraint(
                condition=(Q(order_type="module") & Q(module__isnull=False))
                | (Q(order_type="license") & Q(module__isnull=True)),
                name="order_module_iff_module_order",
            ),
            models.CheckConstraint(
                condition=Q(number__regex=IDENTIFIER_REGEX), name="order_number_identifier"
            ),
            models.CheckConstraint(
                condition=Q(contract_number="") | Q(contract_number__regex=IDENTIFIER_REGEX),
                name="order_contract_number_identifier",
            ),
        ]
        triggers = [
            # Rule R13: the counters change only in their services (rows locked, audited).
            refuse(
                name="order_delivered_by_service",
                operation=pgtrigger.Update,
                condition="OLD.quantity_delivered IS DISTINCT FROM NEW.quantity_delivered AND "
                + writer_is_not(ORIGINAL_DELIVERY),
                message="quantity_delivered is written only by the original delivery service",
            ),
            refuse(
                name="order_new_tokens_by_service",
                operation=pgtrigger.Update,
                condition="OLD.new_tokens_delivered IS DISTINCT FROM NEW.new_tokens_delivered "
                "AND " + writer_is_not(NEW_DELIVERY),
                message="new_tokens_delivered is written only by the new delivery service",
            ),
            # Issued tokens never move to another manufacturer (R13), whoever writes.
            pgtrigger.Trigger(
                name="order_owner_fixed_once_delivered",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                condition=pgtrigger.Condition(
                    "OLD.manufacturer_id IS DISTINCT FROM NEW.manufacturer_id"
                ),
                func="""
                IF OLD.quantity_delivered > 0 OR OLD.new_tokens_delivered > 0 OR EXISTS (
                    SELECT 1 FROM deliveries_newdelivery WHERE order_id = OLD.id
                ) THEN
                    RAISE EXCEPTION 'the manufacturer of an order with deliveries cannot change'
                        USING ERRCODE = 'check_violation';
                END IF;
                RETURN NEW;
                """,
            ),
            refuse_at_commit(
                name="order_owner_matches_products",
                operation=pgtrigger.Update,
                condition="OLD.manufacturer_id IS DISTINCT FROM NEW.manufacturer_id",
                check="""EXISTS (
                    SELECT 1 FROM orders_purchaseorder_products link
                    JOIN orders_product p ON p.id = link.product_id
                    WHERE link.purchaseorder_id = NEW.id
                      AND p.manufacturer_id <> (
                        SELECT manufacturer_id FROM orders_purchaseorder WHERE id = NEW.id)
                )""",
                message="an order holds only products of its own manufacturer",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def available_new_tokens(self) -> int:
        return self.quantity_delivered - self.new_tokens_delivered

    @property
    def undelivered(self) -> int:
        return self.quantity_ordered - self.quantity_delivered


class OriginalDelivery(models.Model):
    """One shipment of modules, or one issue of tokens, against an order (recorded by staff)."""

    order = models.ForeignKey(
        PurchaseOrder,
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        related_name="original_deliveries",
    )
    # Its place among its order's original deliveries, 1, 2, ... in the order they were recorded
    # (``number``): set by ``orders.services.original_delivery_record`` under the order's row
    # lock, unique per order. The database default 1 is the first of an order; a second row
    # inserted without its sequence breaks the unique constraint instead of repeating a number.
    sequence = models.PositiveIntegerField(_("sequence"), db_default=1, editable=False)
    quantity = models.PositiveIntegerField(_("quantity"))
    delivered_at = models.DateTimeField(_("delivered"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    # Set once, by ``orders.services.original_delivery_reverse`` (rule R14); a reversed
    # delivery no longer counts in the order's delivered quantity.
    reversed_at = models.DateTimeField(_("reversed"), null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reversed by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    reversal_reason = models.CharField(_("reason for the reversal"), max_length=500, blank=True)
    # Set from the admin's form as rendered, so a double click records one delivery, not two.
    record_key = models.UUIDField(_("record key"), unique=True, null=True, editable=False)

    class Meta:
        ordering = ["-delivered_at", "-id"]
        verbose_name = _("original delivery")
        verbose_name_plural = _("original deliveries")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="original_quantity_positive"),
            models.UniqueConstraint(
                fields=["order", "sequence"], name="original_delivery_unique_seq"
            ),
            correction_has_reason(
                at="reversed_at", reason="reversal_reason", name="original_reversal_has_reason"
            ),
        ]
        triggers = [
            refuse(
                name="original_delivery_by_service",
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=writer_is_not(ORIGINAL_DELIVERY),
                message="original deliveries are changed only by their service",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.number}: {self.quantity}"

    @property
    def is_reversed(self) -> bool:
        return self.reversed_at is not None

    @property
    def number(self) -> str:
        """``O001``, ``O002``, ...: its ``sequence`` (rows are never deleted, so the number never
        changes). Used in the names of its token files, beside new deliveries' ``N001``; read
        from the row, no query."""
        return f"O{self.sequence:03d}"


# The link table of PurchaseOrder.products is Django's own (no Meta, no migration state of its
# own), so its deferred check "an order holds only products of its own manufacturer" is created
# in SQL by migration orders/0003 (trigger ``order_product_same_owner`` on
# ``orders_purchaseorder_products``).
