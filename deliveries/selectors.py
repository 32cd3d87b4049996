"""Reads for new deliveries. ``new_delivery_options`` is the one home of the rule "can this order
take new tokens, which products, and why not" (R1, R5, R6, R7): the take service calls it on the
locked order row, the Purchase Order list and the Initiate page show what it returns."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Manufacturer
from deliveries.errors import DeliveryError
from deliveries.models import NewDelivery
from orders.models import Module, Product, PurchaseOrder
from orders.selectors import Availability, order_availability
from tokens.models import TokenDownload

# A delivery number as people type it: N003, n3 or 3 (NewDelivery.number).
DELIVERY_NUMBER = re.compile(r"[Nn]?0*(\d{1,9})")


def eligible_products_for_order(*, order: PurchaseOrder) -> QuerySet[Product]:
    """Rules R6 and R7, never crossing manufacturers, ordered by name.

    Module order: the manufacturer's products that use the ordered module (annotated
    ``uses_module``), or that are in the category of an ordered product (``same_category``).
    Device license order: exactly the order's products (both annotations False).
    """
    own = Product.objects.filter(manufacturer_id=order.manufacturer_id).select_related("category")
    if order.order_type == PurchaseOrder.OrderType.MODULE and order.module_id is not None:
        uses_module = Exists(
            Product.modules.through.objects.filter(
                product_id=OuterRef("pk"), module_id=order.module_id
            )
        )
        same_category = Exists(
            PurchaseOrder.products.through.objects.filter(
                purchaseorder_id=order.pk, product__category_id=OuterRef("category_id")
            )
        )
        return (
            own.annotate(uses_module=uses_module, same_category=same_category)
            .filter(Q(uses_module=True) | Q(same_category=True))
            .order_by("name")
        )
    return own.filter(purchase_orders=order).order_by("name")


@dataclass(frozen=True)
class EligibleProduct:
    """A product the order's new tokens apply to, with why (translated, for the person)."""

    product: Product
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class NewDeliveryOptions:
    """What an order offers for new deliveries; build it with ``new_delivery_options``.

    ``available`` and ``refusal`` read only the order row's counters (no query), so a list can
    ask each row; ``products`` and ``explanation`` cost one query each, the first time.
    """

    order: PurchaseOrder

    @property
    def offered(self) -> bool:
        """R1: Initiate new delivery is offered only on a delivered, not cancelled order."""
        order = self.order
        return order.quantity_delivered > 0 and order.status != PurchaseOrder.Status.CANCELLED

    @property
    def available(self) -> int:
        """R2: delivered minus new tokens delivered (never negative: a database CHECK)."""
        return self.order.available_new_tokens

    @property
    def order_refusal(self) -> str | None:
        """Why the order takes nothing, whatever the product: a ``DeliveryError`` code."""
        if not self.offered:
            return "order_not_eligible"
        if self.available <= 0:
            return "nothing_available"  # R5
        return None

    def quantity_refusal(self, quantity: int) -> DeliveryError | None:
        """R3: a ``DeliveryError`` ("quantity_exceeds_available") when ``quantity`` new tokens
        are more than are available, else None. The take raises it (on the locked row); the
        form shows it beside a missing product's error, so that both mistakes show at once."""
        if quantity > self.available:
            return DeliveryError("quantity_exceeds_available", available=self.available)
        return None

    @property
    def has_new_deliveries(self) -> bool:
        return self.order.new_tokens_delivered > 0

    @cached_property
    def products(self) -> list[EligibleProduct]:
        """R6/R7: the eligible products, each with the reasons it is offered."""
        return [
            EligibleProduct(product=product, reasons=self._reasons(product))
            for product in eligible_products_for_order(order=self.order)
        ]

    @property
    def refusal(self) -> str | None:
        """The ``DeliveryError`` code of why nothing can be taken, or None when something can."""
        if self.order_refusal:
            return self.order_refusal
        return None if self.products else "no_eligible_product"

    @property
    def refusal_message(self) -> str:
        return DeliveryError(self.refusal).message if self.refusal else ""

    @property
    def can_take(self) -> bool:
        return self.refusal is None

    @property
    def refusal_reason(self) -> str:
        """The refusal in the person's terms (the count's explanation covers R5)."""
        if self.order.status == PurchaseOrder.Status.CANCELLED:
            return _("The order is cancelled.")
        if self.refusal == "order_not_eligible":
            return _(
                "Nothing of it has been delivered yet; new tokens can be applied for once "
                "modules or tokens are delivered."
            )
        if self.refusal == "no_eligible_product":
            return self.refusal_message
        return ""

    @cached_property
    def explanation(self) -> Availability:
        """How the available count is reached (deliveries and their counts)."""
        return order_availability(order_id=self.order.pk)

    @cached_property
    def explanation_lines(self) -> list[str]:
        """The available count worked out, one translated sentence a line, for the page."""
        counts = self.explanation
        delivered, taken = intcomma(counts.delivered), intcomma(counts.new_tokens_delivered)
        n = counts.original_delivery_count
        if self.order.order_type == PurchaseOrder.OrderType.MODULE:
            originals = ngettext(
                "Delivered %(delivered)s modules in %(counter)s original delivery.",
                "Delivered %(delivered)s modules in %(counter)s original deliveries.",
                n,
            )
        else:
            originals = ngettext(
                "Delivered %(delivered)s tokens in %(counter)s original delivery.",
                "Delivered %(delivered)s tokens in %(counter)s original deliveries.",
                n,
            )
        lines = [
            originals % {"delivered": delivered, "counter": n},
            ngettext(
                "New tokens delivered: %(taken)s in %(counter)s new delivery.",
                "New tokens delivered: %(taken)s in %(counter)s new deliveries.",
                counts.new_delivery_count,
            )
            % {"taken": taken, "counter": counts.new_delivery_count},
            # The typographic minus sign is meant: it is how the sum is printed.
            _("Available: %(delivered)s − %(taken)s = %(available)s.")  # noqa: RUF001
            % {"delivered": delivered, "taken": taken, "available": intcomma(counts.available)},
        ]
        if counts.available == 0 and counts.delivered == 0:
            lines.append(
                _("None is available because nothing of this order has been delivered yet.")
            )
        elif counts.available == 0:
            lines.append(
                _(
                    "None is available because as many new tokens have been delivered as the "
                    "order has delivered."
                )
            )
        if counts.undelivered:
            lines.append(
                _(
                    "Still undelivered: %(undelivered)s of the %(ordered)s ordered. As they are "
                    "delivered, that many more new tokens become available."
                )
                % {"undelivered": intcomma(counts.undelivered), "ordered": intcomma(counts.ordered)}
            )
        elif counts.available == 0:
            lines.append(
                _("The order is fully delivered, so no more new tokens will become available.")
            )
        return lines

    def offers(self, product_id: int) -> bool:
        """Whether ``product_id`` is eligible; one query unless ``products`` was read already."""
        if "products" in self.__dict__:
            return any(eligible.product.pk == product_id for eligible in self.products)
        return self.offered_product(product_id).exists()

    def offered_product(self, product_id: int) -> QuerySet[Product]:
        """``product_id`` if it is eligible (R6/R7), as a query: ``Exists()`` of it lets the
        take ask in a statement it sends anyway."""
        return eligible_products_for_order(order=self.order).filter(pk=product_id)

    def _reasons(self, product: Product) -> tuple[str, ...]:
        if self.order.order_type != PurchaseOrder.OrderType.MODULE:
            return (_("the original tokens apply to it"),)
        reasons = []
        if getattr(product, "uses_module", False):
            module: Module | None = self.order.module
            reasons.append(_("uses module %(module)s") % {"module": module})
        if getattr(product, "same_category", False):
            reasons.append(_("same category: %(category)s") % {"category": product.category.name})
        return tuple(reasons)


def new_delivery_options(*, order: PurchaseOrder) -> NewDeliveryOptions:
    """The new-delivery options of ``order`` as its row reads now.

    The take service passes the row it locked, so the answer it acts on cannot change before
    its commit; pages pass a row they just read (``select_related("module")`` saves a query when
    the reasons are shown). Tenancy is the caller's: ``order`` must be the user's own.
    """
    return NewDeliveryOptions(order=order)


def new_delivery_list(
    *,
    manufacturer: Manufacturer,
    order: PurchaseOrder | None = None,
    order_number: str = "",
    product: int | None = None,
    state: str = "",
    taken_from: dt.date | None = None,
    taken_to: dt.date | None = None,
    search: str = "",
) -> QuerySet[NewDelivery]:
    """The manufacturer's new deliveries (one order's, when given), newest first, with what the
    New delivery list of Token shows joined in, so a page costs the same queries for 1 or 25;
    ``file_downloaded`` (bool) says whether its token file was ever downloaded.

    Filters: ``order_number`` (exact, any case), ``product`` (a product's pk), ``state`` (the
    token file's status, ``TokenFile.Status``), ``taken_from``/``taken_to`` (inclusive days in
    the active time zone) and ``search``: a delivery number (``N003`` or ``3``), an order
    number or product name (contains), a product ID (exact) or who took it (username, contains).
    """
    deliveries = (
        NewDelivery.objects.filter(order__manufacturer=manufacturer)
        .select_related("order", "product", "taken_by", "file")
        .prefetch_related("file__workbooks")  # each file's .xlsx parts (tokens/_download_links)
        # A downloaded delivery cannot be voided: its row offers no Void (the service refuses).
        .annotate(file_downloaded=Exists(TokenDownload.objects.filter(token_file=OuterRef("file"))))
    )
    if order is not None:
        deliveries = deliveries.filter(order=order)
    if order_number:
        deliveries = deliveries.filter(order__number__iexact=order_number)
    if product is not None:
        deliveries = deliveries.filter(product_id=product)
    if state:
        deliveries = deliveries.filter(file__status=state)
    if taken_from:
        deliveries = deliveries.filter(taken_at__date__gte=taken_from)
    if taken_to:
        deliveries = deliveries.filter(taken_at__date__lte=taken_to)
    if term := search.strip():
        matches = (
            Q(order__number__icontains=term)
            | Q(product__name__icontains=term)
            | Q(product__product_id__iexact=term)
            | Q(taken_by__username__icontains=term)
        )
        if number := DELIVERY_NUMBER.fullmatch(term):
            matches |= Q(sequence=int(number.group(1)))
        deliveries = deliveries.filter(matches)
    return deliveries.order_by("-taken_at", "-id")


def new_delivery_products(
    *, manufacturer: Manufacturer, order: PurchaseOrder | None = None
) -> QuerySet[Product]:
    """The manufacturer's products that new deliveries (of ``order``, when given) were taken
    of, by name (the list's product filter).

    One index probe per product (``EXISTS`` on the delivery's product, or order): a product is
    its manufacturer's, so its deliveries need no join to their orders. Joining them made this
    read every delivery of the manufacturer: 160-250 ms at 100,000 orders (bench.scale)."""
    taken = NewDelivery.objects.filter(product=OuterRef("pk"))
    if order is not None:
        taken = taken.filter(order=order)
    return Product.objects.filter(Exists(taken), manufacturer=manufacturer).order_by("name")
