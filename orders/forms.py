from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import PurchaseOrder


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

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", _("The end date is before the start date."))
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
