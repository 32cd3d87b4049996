from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from webhooks.models import EVENT_TYPES
from workorders.forms import ReplayKeyMixin, replay_key_field


class WebhookEndpointForm(ReplayKeyMixin, forms.Form):
    """Only parses; ``webhooks.services.webhook_endpoint_create`` decides what is allowed.
    ``form_key`` is made when the form is rendered: a reload that resends it adds nothing."""

    key_name = "form_key"
    form_key = replay_key_field()

    url = forms.CharField(
        label=_("URL"),
        max_length=500,
        help_text=_("An https:// address on the public internet that accepts POST requests."),
        widget=forms.URLInput(attrs={"inputmode": "url", "autocomplete": "url"}),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=list(EVENT_TYPES.items()),
        widget=forms.CheckboxSelectMultiple,
    )
