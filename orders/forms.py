from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from orders.models import PurchaseOrder
from orders.selectors import DEFAULT_PURCHASE_ORDER_SORT
from refurb_portal.forms import date_range_clean

# The default sort and page size are the empty choice, so that they stay out of the URL.
SORT_CHOICES = [
    ("", _("Newest first")),
    ("created", _("Oldest first")),
    ("number", _("Order number, A to Z")),
    ("-number", _("Order number, Z to A")),
    ("-ordered", _("Most ordered first")),
    ("ordered", _("Least ordered first")),
    ("-delivered", _("Most delivered first")),
    ("delivered", _("Least delivered first")),
    ("-available", _("Most available first")),
    ("available", _("Least available first")),
]


class PurchaseOrderFilterForm(forms.Form):
    """The filters of the Purchase Order page. Invalid values are reported and ignored."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.SearchInput(
            attrs={"placeholder": _("Order number, contract number, product ID or name")}
        ),
    )
    order_type = forms.ChoiceField(
        label=_("Order type"),
        required=False,
        choices=[("", _("All types")), *PurchaseOrder.OrderType.choices],
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *PurchaseOrder.Status.choices],
    )
    created_from = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label=_("Created to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)
    per_page = forms.TypedChoiceField(
        label=_("Rows per page"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[
            ("", settings.PURCHASE_ORDER_PAGE_SIZES[0]),
            *((size, size) for size in settings.PURCHASE_ORDER_PAGE_SIZES[1:]),
        ],
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        date_range_clean(self, cleaned, "created_from", "created_to")
        return cleaned

    def valid_filters(self) -> dict[str, object]:
        """The filters whose values are valid; an invalid one is left out, not fatal."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "search": data.get("q") or "",
            "order_type": data.get("order_type") or "",
            "status": data.get("status") or "",
            "created_from": data.get("created_from") if "created_from" not in self.errors else None,
            "created_to": data.get("created_to") if "created_to" not in self.errors else None,
        }

    @property
    def sort_key(self) -> str:
        """The chosen sort (a key of ``orders.selectors.PURCHASE_ORDER_SORTS``), or the default."""
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("sort") or DEFAULT_PURCHASE_ORDER_SORT

    @property
    def page_size(self) -> int:
        """The chosen rows per page (``settings.PURCHASE_ORDER_PAGE_SIZES``), or the first."""
        self.is_valid()
        chosen = getattr(self, "cleaned_data", {}).get("per_page")
        return chosen or settings.PURCHASE_ORDER_PAGE_SIZES[0]

    def sort_field_swap(self) -> SafeString:
        """The Sort by menu marked to replace the page's own after an htmx swap (its value
        follows a sort chosen by a column heading)."""
        return self["sort"].as_widget(attrs={"hx-swap-oob": "true"})
