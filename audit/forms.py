from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from refurb_portal.forms import date_range_clean


class ActivityFilterForm(forms.Form):
    """The filters of the Activity page: person, event, dates and order number. Invalid values
    are reported above the results and ignored, so the page still shows what the valid ones
    select."""

    person = forms.TypedChoiceField(label=_("Person"), required=False, coerce=int, empty_value=None)
    action = forms.ChoiceField(label=_("Event"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    order = forms.CharField(label=_("Order number"), required=False, max_length=60)

    def __init__(
        self,
        *args: object,
        actions: list[tuple[str, str]],
        people: list[tuple[int, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["person"].choices = [("", _("Everyone")), *people]  # type: ignore[attr-defined]
        self.fields["action"].choices = [("", _("All events")), *actions]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        date_range_clean(self, cleaned, "date_from", "date_to")
        return cleaned

    def valid_filters(self) -> dict[str, object]:
        """The filters whose values are valid (keyword arguments of
        ``audit.selectors.activity_for_manufacturer``); an invalid one is left out, not fatal."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "actor_id": data.get("person") if "person" not in self.errors else None,
            "action": data.get("action") or "",
            "date_from": data.get("date_from") if "date_from" not in self.errors else None,
            "date_to": data.get("date_to") if "date_to" not in self.errors else None,
            "order": (data.get("order") or "").strip(),
        }
