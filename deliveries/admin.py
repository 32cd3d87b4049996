"""Staff admin for new deliveries: read-only rows (only the services write them), with their
file's state, and the one correction staff may make: void a delivery never downloaded."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from deliveries.models import NewDelivery
from deliveries.services import new_delivery_void
from refurb_portal.admin import ReadOnlyAdmin, reason_action


class VoidedFilter(admin.SimpleListFilter):
    title = _("voided")
    parameter_name = "voided"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[NewDelivery]
    ) -> list[tuple[str, str]]:
        return [("yes", str(_("Voided"))), ("no", str(_("Not voided")))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[NewDelivery]
    ) -> QuerySet[NewDelivery]:
        if self.value() == "yes":
            return queryset.filter(voided_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(voided_at__isnull=True)
        return queryset


@admin.register(NewDelivery)
class NewDeliveryAdmin(ReadOnlyAdmin[NewDelivery]):
    list_display = [
        "__str__",
        "manufacturer",
        "product",
        "quantity",
        "taken_by",
        "taken_at",
        "file_state",
        "voided_at",
    ]
    list_filter = [
        VoidedFilter,
        "file__status",
        "taken_at",
        "order__manufacturer",
    ]
    search_fields = ["order__number", "product__product_id", "product__name", "taken_by__username"]
    list_select_related = ["order__manufacturer", "product", "taken_by", "file"]
    date_hierarchy = "taken_at"
    actions = ["void"]
    fields = (
        "order",
        "sequence",
        "product",
        "quantity",
        "taken_by",
        "taken_at",
        "file_state",
        "voided_at",
        "voided_by",
        "void_reason",
    )
    readonly_fields = fields

    @admin.display(description=_("manufacturer"), ordering="order__manufacturer")
    def manufacturer(self, obj: NewDelivery) -> str:
        return str(obj.order.manufacturer)

    @admin.display(description=_("file"), ordering="file__status")
    def file_state(self, obj: NewDelivery) -> str:
        token_file = getattr(obj, "file", None)
        if token_file is None:
            return "—"
        url = reverse("admin:tokens_tokenfile_change", args=[token_file.pk])
        return format_html('<a href="{}">{}</a>', url, token_file.get_status_display())

    def has_void_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("deliveries.change_newdelivery")

    @admin.action(description=_("Void the selected new deliveries"), permissions=["void"])
    def void(
        self, request: HttpRequest, queryset: QuerySet[NewDelivery]
    ) -> TemplateResponse | None:
        return reason_action(
            self,
            request,
            queryset.select_related("order"),
            title=_("Void new deliveries"),
            explanation=_(
                "Each delivery stays listed, marked voided with your reason; its tokens are "
                "revoked and never issued again, its file can no longer be downloaded, and its "
                "quantity is available again on its order. A delivery whose file was downloaded "
                "cannot be voided."
            ),
            service=new_delivery_void,
            id_argument="delivery_id",
            done=lambda count: (
                ngettext(
                    "%(count)s new delivery voided.", "%(count)s new deliveries voided.", count
                )
                % {"count": count}
            ),
        )
