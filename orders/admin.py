"""Staff admin for the catalogue and orders.

Original deliveries are recorded only through ``original_delivery_record`` (the "Record
original delivery" page of an order) and reversed only through ``original_delivery_reverse``
(an action asking for the reason); the admin cannot add, change or delete them directly. The
order's counters are read-only, and a change of an order or a product is checked and written by
its service under the row lock (``ServiceChangeAdmin``), only the fields that changed.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders.errors import OrderError
from orders.models import Module, OriginalDelivery, Product, ProductCategory, PurchaseOrder
from orders.services import (
    original_delivery_record,
    original_delivery_reverse,
    product_update,
    product_update_check,
    purchase_order_products_check,
    purchase_order_update,
    purchase_order_update_check,
)
from refurb_portal.admin import ReadOnlyAdmin, ServiceChangeAdmin, reason_action


@admin.register(ProductCategory)
class ProductCategoryAdmin(admin.ModelAdmin[ProductCategory]):
    list_display = ["__str__", "parent"]
    search_fields = ["name", "parent__name"]
    list_filter = ["parent"]


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin[Module]):
    list_display = ["code", "description"]
    search_fields = ["code", "description"]


@admin.register(Product)
class ProductAdmin(ServiceChangeAdmin[Product]):
    list_display = ["name", "product_id", "category", "manufacturer"]
    list_filter = ["manufacturer", "category", "modules"]
    search_fields = ["name", "product_id", "manufacturer__name"]
    list_select_related = ["category__parent", "manufacturer"]
    filter_horizontal = ["modules"]

    def service_check(
        self, *, pk: int, values: dict[str, Any], related: dict[str, list[int]]
    ) -> None:
        product_update_check(product_id=pk, values=values)

    def service_update(
        self, *, pk: int, values: dict[str, Any], related: dict[str, list[int]]
    ) -> None:
        product_update(product_id=pk, values=values, module_ids=related.get("modules"))


class OriginalDeliveryInline(admin.TabularInline[OriginalDelivery, PurchaseOrder]):
    model = OriginalDelivery
    extra = 0
    fields = ("delivered_at", "quantity", "recorded_by", "note", "reversed_at", "reversal_reason")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: PurchaseOrder | None = None) -> bool:
        return False


class OriginalDeliveryForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)
    # Made when the form is rendered: sent twice, it records one delivery (see the service).
    record_key = forms.UUIDField(
        widget=forms.HiddenInput,
        initial=uuid.uuid4,
        error_messages={
            "required": _("This form has expired. Reload the page and submit again."),
            "invalid": _("This form has expired. Reload the page and submit again."),
        },
    )


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(ServiceChangeAdmin[PurchaseOrder]):
    list_display = [
        "number",
        "contract_number",
        "manufacturer",
        "order_type",
        "status",
        "quantity_ordered",
        "quantity_delivered",
        "new_tokens_delivered",
        "created_at",
    ]
    list_filter = ["order_type", "status", "manufacturer", "created_at"]
    search_fields = ["number", "contract_number", "products__product_id", "products__name"]
    list_select_related = ["manufacturer"]
    readonly_fields = ["quantity_delivered", "new_tokens_delivered"]
    filter_horizontal = ["products"]
    date_hierarchy = "created_at"
    inlines = [OriginalDeliveryInline]
    change_form_template = "admin/orders/purchaseorder/change_form.html"

    def service_check(
        self, *, pk: int, values: dict[str, Any], related: dict[str, list[int]]
    ) -> None:
        purchase_order_update_check(order_id=pk, values=values, product_ids=related.get("products"))

    def service_update(
        self, *, pk: int, values: dict[str, Any], related: dict[str, list[int]]
    ) -> None:
        purchase_order_update(order_id=pk, values=values, product_ids=related.get("products"))

    def new_check(self, *, values: dict[str, Any], related: dict[str, list[int]]) -> None:
        purchase_order_products_check(
            manufacturer_id=values["manufacturer"].pk, product_ids=related.get("products", [])
        )

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:order_id>/record-delivery/",
                self.admin_site.admin_view(self.record_delivery_view),
                name="orders_purchaseorder_record_delivery",
            ),
            *super().get_urls(),
        ]

    def record_delivery_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        order = get_object_or_404(PurchaseOrder, pk=order_id)
        if not self.has_change_permission(request, order):
            return HttpResponseRedirect(reverse("admin:index"))
        form = OriginalDeliveryForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                delivery = original_delivery_record(
                    order_id=order.pk,
                    quantity=form.cleaned_data["quantity"],
                    note=form.cleaned_data["note"],
                    record_key=form.cleaned_data["record_key"],
                    user=request.user,  # type: ignore[arg-type]
                    request=request,
                )
            except OrderError as exc:
                form.add_error("quantity", exc.message)
            else:
                self.message_user(
                    request,
                    _("Recorded an original delivery of %(quantity)s on %(order)s.")
                    % {"quantity": delivery.quantity, "order": order.number},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:orders_purchaseorder_change", args=[order.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "order": order,
            "form": form,
            "title": _("Record original delivery"),
        }
        return TemplateResponse(request, "admin/orders/record_delivery.html", context)


@admin.register(OriginalDelivery)
class OriginalDeliveryAdmin(ReadOnlyAdmin[OriginalDelivery]):
    """Read-only list; recording goes through the order's "Record original delivery" page,
    reversing through the action (a service, with a reason)."""

    list_display = ["order", "quantity", "delivered_at", "recorded_by", "reversed_at"]
    list_filter = [
        "delivered_at",
        "order__manufacturer",
        ("reversed_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["order__number", "note", "reversal_reason"]
    list_select_related = ["order", "recorded_by"]
    actions = ["reverse"]

    def has_reverse_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.change_purchaseorder")

    @admin.action(
        description=_("Reverse the selected original deliveries"), permissions=["reverse"]
    )
    def reverse(
        self, request: HttpRequest, queryset: QuerySet[OriginalDelivery]
    ) -> TemplateResponse | None:
        return reason_action(
            self,
            request,
            queryset.select_related("order"),
            title=_("Reverse original deliveries"),
            explanation=_(
                "Each delivery stays listed, marked reversed with your reason; its quantity is "
                "taken off its order's delivered quantity. A reversal that would leave an order "
                "with fewer delivered than new tokens delivered is refused."
            ),
            service=original_delivery_reverse,
            id_argument="original_delivery_id",
            done=lambda count: (
                ngettext(
                    "%(count)s original delivery reversed.",
                    "%(count)s original deliveries reversed.",
                    count,
                )
                % {"count": count}
            ),
        )
