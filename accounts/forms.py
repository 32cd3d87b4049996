from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.utils.translation import gettext_lazy as _

from accounts.errors import AccountError
from accounts.login_throttle import login_address_check
from accounts.models import User
from accounts.time_zone_names import time_zone_names


class LoginForm(AuthenticationForm):
    """Django's log-in form, with the user name's length enforced. Django sets the field's
    ``max_length`` after the field is made, so no validator checks it, and a longer name went on
    to the authentication backends (django-axes' 255-character column: a 500). No user has
    such a name, so it gets the usual "enter a correct username and password" answer. An
    address past its failed log ins (``accounts.login_throttle``) is refused before the
    password is checked."""

    def clean(self) -> dict[str, Any]:
        if self.request is not None:
            try:
                login_address_check(request=self.request)
            except AccountError as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from exc
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


# --- The team and forgot password (issue #18) --------------------------------------------------


class InvitationForm(forms.Form):
    """An administrator's invitation: the colleague's address, role and email language."""

    email = forms.EmailField(label=_("Email address"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=User.Role.choices, initial=User.Role.PLANNER)
    language = forms.ChoiceField(label=_("Language of the email"), choices=settings.LANGUAGES)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=User.Role.choices)


class TwoFactorRequirementForm(forms.Form):
    required = forms.BooleanField(
        label=_("Everyone in the company must use two-factor authentication"), required=False
    )


class CompanySettingsForm(forms.Form):
    """An administrator's company settings: the time zone of colleagues who chose none, and
    the address told of every token file ready or failed (notifications app)."""

    time_zone = forms.ChoiceField(
        label=_("Company time zone"),
        required=False,
        help_text=_("Shown to colleagues who have not chosen their own; none means UTC."),
    )
    notification_email = forms.EmailField(
        label=_("Company notification address"),
        required=False,
        max_length=254,
        help_text=_("Also told when a token file is ready or failed; leave empty for none."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [  # type: ignore[attr-defined]
            ("", _("None (UTC)")),
            *((name, name) for name in time_zone_names()),
        ]


class PortalPasswordResetForm(PasswordResetForm):
    """Django's form; the view sends the email from a task (``password_reset_email_send``)."""

    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
