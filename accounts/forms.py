from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    """Django's log-in form, with the user name's length enforced. Django sets the field's
    ``max_length`` after the field is made, so no validator checks it, and a longer name went on
    to the authentication backends (django-axes' 255-character column: a 500). No user has
    such a name, so it gets the usual "enter a correct username and password" answer."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        field = self.fields["username"]
        if isinstance(field, forms.CharField) and len(username) > (field.max_length or 0):
            raise self.get_invalid_login_error()
        return super().clean()


class TwoFactorCodeForm(forms.Form):
    """A six-digit code from the authenticator app, or one of the recovery codes."""

    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )
