from __future__ import annotations

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
        indexes = [models.Index(fields=["manufacturer", "-created_at", "-id"])]
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
    # Set from the admin's form as rendered, so a double click records one delivery, not two.
    record_key = models.UUIDField(_("record key"), unique=True, null=True, editable=False)

    class Meta:
        ordering = ["-delivered_at", "-id"]
        verbose_name = _("original delivery")
        verbose_name_plural = _("original deliveries")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="original_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.order.number}: {self.quantity}"
