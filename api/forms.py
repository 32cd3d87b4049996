from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from api.models import ApiKey
from workorders.forms import ReplayKeyMixin, replay_key_field


class ApiKeyForm(ReplayKeyMixin, forms.Form):
    """Only parses; ``api.services.api_key_create`` decides what is allowed. ``form_key`` is
    made when the form is rendered, so a reload that resends it makes no second key."""

    key_name = "form_key"
    form_key = replay_key_field()

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What uses the key, for example “Line 3 MES”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Permissions"),
        choices=ApiKey.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for a key that does not expire; revoke it when done."),
    )

    def expires_at(self) -> dt.datetime | None:
        """The end of the chosen day in the current time zone, or None."""
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(dt.datetime.combine(day, dt.time.max))
