"""Reads of orders. Availability is computed in the database, never by looping in Python."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    Count,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.expressions import OrderBy
from django.db.models.functions import Coalesce

from accounts.models import Manufacturer
from orders.models import OriginalDelivery, Product, PurchaseOrder


@dataclass(frozen=True)
class Availability:
    """How an order's available new tokens are reached (shown beside the count)."""

    ordered: int
    delivered: int
    original_delivery_count: int
    new_tokens_delivered: int
    new_delivery_count: int

    @property
    def available(self) -> int:
        return self.delivered - self.new_tokens_delivered

    @property
    def undelivered(self) -> int:
        return self.ordered - self.delivered


def order_availability(*, order_id: int) -> Availability:
    """One query: the order's counters with the number of original and new deliveries."""
    row = (
        PurchaseOrder.objects.filter(pk=order_id)
        .annotate(
            original_delivery_count=Count("original_deliveries", distinct=True),
            new_delivery_count=Count("new_deliveries", distinct=True),
        )
        .values(
            "quantity_ordered",
            "quantity_delivered",
            "new_tokens_delivered",
            "original_delivery_count",
            "new_delivery_count",
        )
        .get()
    )
    return Availability(
        ordered=row["quantity_ordered"],
        delivered=row["quantity_delivered"],
        original_delivery_count=row["original_delivery_count"],
        new_tokens_delivered=row["new_tokens_delivered"],
        new_delivery_count=row["new_delivery_count"],
    )


def order_counters_from_rows(*, order_id: int) -> tuple[int, int]:
    """The two counters recomputed from the delivery rows, to check them (tests, bench, admin).

    Reversed original deliveries and voided new deliveries (rule R14) do not count."""
    order = PurchaseOrder.objects.filter(pk=order_id).annotate(
        delivered_sum=Coalesce(
            Sum(
                "original_deliveries__quantity",
                filter=Q(original_deliveries__reversed_at__isnull=True),
            ),
            0,
        ),
    )
    delivered = order.values_list("delivered_sum", flat=True).get()
    new_sum = (
        PurchaseOrder.objects.filter(pk=order_id)
        .annotate(
            new_sum=Coalesce(
                Sum("new_deliveries__quantity", filter=Q(new_deliveries__voided_at__isnull=True)),
                0,
            )
        )
        .values_list("new_sum", flat=True)
        .get()
    )
    return delivered, new_sum


# What an order has left to take new tokens of (rule R2), as SQL; the expression of the index
# ``order_manufacturer_available`` (orders.models), so that sorting by it reads the index.
AVAILABLE = F("quantity_delivered") - F("new_tokens_delivered")

# The Purchase Order list's sorts: each one is an index of ``PurchaseOrder.Meta.indexes`` read
# forwards or backwards after the manufacturer (tests/orders/test_sorting.py EXPLAINs them), with
# the id as tie-breaker so that pages never repeat or skip a row.
PURCHASE_ORDER_SORTS: dict[str, tuple[OrderBy | str, ...]] = {
    "number": ("number", "id"),
    "-number": ("-number", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "ordered": ("quantity_ordered", "id"),
    "-ordered": ("-quantity_ordered", "-id"),
    "delivered": ("quantity_delivered", "id"),
    "-delivered": ("-quantity_delivered", "-id"),
    "available": (AVAILABLE.asc(), "id"),
    "-available": (AVAILABLE.desc(), "-id"),
}
DEFAULT_PURCHASE_ORDER_SORT = "-created"


def purchase_order_list(
    *,
    manufacturer: Manufacturer,
    search: str = "",
    order_type: str = "",
    status: str = "",
    created_from: dt.date | None = None,
    created_to: dt.date | None = None,
    sort: str = DEFAULT_PURCHASE_ORDER_SORT,
) -> QuerySet[PurchaseOrder]:
    """A manufacturer's orders in the order ``sort`` names (a key of ``PURCHASE_ORDER_SORTS``,
    newest first by default; an unknown key is the default), with ``available`` annotated and
    products prefetched, so the page costs the same number of queries for 1 order or 50.

    ``search`` finds an order by its number, contract number or module model (contains, any
    case), or by a product's ID (exact) or name (contains)."""
    qs = (
        PurchaseOrder.objects.filter(manufacturer=manufacturer)
        .select_related("module")
        .prefetch_related("products")
        .annotate(available=AVAILABLE)
    )
    if order_type:
        qs = qs.filter(order_type=order_type)
    if status:
        qs = qs.filter(status=status)
    if created_from:
        qs = qs.filter(created_at__date__gte=created_from)
    if created_to:
        qs = qs.filter(created_at__date__lte=created_to)
    if search:
        term = search.strip()
        matching_products = PurchaseOrder.products.through.objects.filter(
            Q(product__product_id__iexact=term) | Q(product__name__icontains=term)
        ).values("purchaseorder_id")
        qs = qs.filter(
            Q(number__icontains=term)
            | Q(contract_number__icontains=term)
            | Q(module__code__icontains=term)
            | Q(pk__in=matching_products)
        )
    return qs.order_by(
        *PURCHASE_ORDER_SORTS.get(sort, PURCHASE_ORDER_SORTS[DEFAULT_PURCHASE_ORDER_SORT])
    )


def purchase_order_for_manufacturer(*, manufacturer: Manufacturer, number: str) -> PurchaseOrder:
    """The manufacturer's order ``number``, with its module and products; raises
    ``PurchaseOrder.DoesNotExist`` when it is not theirs (the caller's 404: tenancy)."""
    return (
        PurchaseOrder.objects.select_related("module")
        .prefetch_related("products")
        .get(manufacturer=manufacturer, number=number)
    )


def order_original_deliveries(*, order_id: int) -> QuerySet[OriginalDelivery]:
    """An order's original deliveries, newest first, reversed ones included (they show as
    such: rule R14)."""
    return OriginalDelivery.objects.filter(order_id=order_id).order_by("-delivered_at", "-id")


def with_product_names(orders: QuerySet[PurchaseOrder]) -> QuerySet[PurchaseOrder]:
    """``orders`` with each one's products in ``export_products`` (a list of ``Product``, by
    name then product ID; ``product_names`` joins them), prefetched once per chunk of
    ``.iterator(chunk_size=...)``: one query per chunk, on PostgreSQL and on SQLite alike (a
    string aggregate ordered in the database, ``StringAgg(order_by=...)``, needs SQLite 3.44;
    ``make run`` may have an older one)."""
    products = Product.objects.only("name", "product_id").order_by("name", "product_id")
    return orders.prefetch_related(None).prefetch_related(
        Prefetch("products", queryset=products, to_attr="export_products")
    )


def product_names(order: PurchaseOrder) -> str:
    """The products of an order read through ``with_product_names`` as one text:
    ``"Name (product ID); ..."``, empty when it has none."""
    chosen: list[Product] = getattr(order, "export_products", [])
    return "; ".join(f"{product.name} ({product.product_id})" for product in chosen)
