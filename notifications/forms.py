from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.time_zone_names import time_zone_names
from notifications.kinds import CHANNELS, KINDS, kinds_for

CHANNEL_LABELS = {"email": _("By email"), "portal": _("In the portal")}


class SettingsForm(forms.Form):
    """The Settings page: time zone, language of emails and, per kind of notice, the two
    channels. Only parses; the services store."""

    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("Every time in the portal and in your emails is shown in this zone."),
    )
    language = forms.ChoiceField(label=_("Language of emails"), choices=settings.LANGUAGES)

    def __init__(
        self, *args: Any, user: User, preferences: dict[str, dict[str, bool]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        zone = self.fields["time_zone"]
        assert isinstance(zone, forms.ChoiceField)
        zone.choices = [(name, name) for name in time_zone_names()]
        self.kinds = kinds_for(is_staff=user.is_staff)
        for kind in self.kinds:
            chosen = preferences.get(kind, {})
            for channel in CHANNELS:
                self.fields[f"{kind}__{channel}"] = forms.BooleanField(
                    label=CHANNEL_LABELS[channel],
                    required=False,
                    initial=chosen.get(channel, True),
                )

    def kind_rows(self) -> list[tuple[Any, list[forms.BoundField]]]:
        """(label, [its email field, its portal field]) per kind, for the template."""
        return [
            (KINDS[kind].label, [self[f"{kind}__{channel}"] for channel in CHANNELS])
            for kind in self.kinds
        ]

    def choices(self) -> dict[str, dict[str, bool]]:
        return {
            kind: {channel: self.cleaned_data[f"{kind}__{channel}"] for channel in CHANNELS}
            for kind in self.kinds
        }
