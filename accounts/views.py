"""Two-factor pages: verify a code after the password, set up an authenticator app, and the
account's two-factor status with new recovery codes."""

from __future__ import annotations

import base64
import math

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.access import AuthenticatedRequest, is_verified
from accounts.errors import AccountError
from accounts.forms import TwoFactorCodeForm
from accounts.middleware import two_factor_exempt
from accounts.models import User
from accounts.selectors import has_authenticator, recovery_codes_left, two_factor_required
from accounts.services import (
    recovery_codes_replace,
    totp_enrol,
    totp_key_base32,
    totp_new_key,
    two_factor_verify,
)

SETUP_KEY_SESSION = "two_factor_setup_key"


def locked_out_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: object
) -> HttpResponse:
    """django-axes' answer to a locked-out log in (``AXES_LOCKOUT_CALLABLE``): a clear page,
    429 Too Many Requests, whether or not the password was right."""
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60),
    }
    return render(request, "accounts/locked_out.html", context, status=429)


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


@sensitive_variables("key")
def _qr_data_uri(key: str, user: User) -> str:
    """The otpauth:// link as an inline SVG image (CSP allows ``data:`` images, nothing else)."""
    device = TOTPDevice(key=key, user=user)
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


@never_cache
@sensitive_post_parameters("code")
@two_factor_exempt
def two_factor_verify_view(request: AuthenticatedRequest) -> HttpResponse:
    """The second step of logging in: a code from the app, or a recovery code."""
    next_url = _next_url(request)
    if is_verified(request):
        return redirect(next_url)
    if not user_has_device(request.user):
        return redirect(f"{reverse('accounts:two_factor_setup')}?{request.GET.urlencode()}")
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            two_factor_verify(request=request, user=request.user, code=form.cleaned_data["code"])
        except AccountError as exc:
            form.add_error("code", exc.message)
        else:
            return redirect(next_url)
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url})


@never_cache
@sensitive_post_parameters("code")
@sensitive_variables("key")
@two_factor_exempt
def two_factor_setup_view(request: AuthenticatedRequest) -> HttpResponse:
    """Set up an authenticator app: scan the code, type the first code, keep recovery codes."""
    next_url = _next_url(request)
    if has_authenticator(user=request.user):
        return redirect("accounts:two_factor")
    if user_has_device(request.user) and not is_verified(request):
        # Someone with only the password must not add their own second factor.
        return redirect(f"{reverse('accounts:two_factor_verify')}?{request.GET.urlencode()}")
    key = request.session.get(SETUP_KEY_SESSION) or totp_new_key()
    request.session[SETUP_KEY_SESSION] = key
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = totp_enrol(
                request=request, user=request.user, key=key, code=form.cleaned_data["code"]
            )
        except AccountError as exc:
            form.add_error("code", exc.message)
        else:
            del request.session[SETUP_KEY_SESSION]
            return render(
                request, "accounts/recovery_codes.html", {"codes": codes, "next": next_url}
            )
    return _setup_page(request, form=form, key=key, next_url=next_url)


def _setup_page(
    request: AuthenticatedRequest, *, form: TwoFactorCodeForm, key: str, next_url: str
) -> HttpResponse:
    context = {
        "form": form,
        "next": next_url,
        "qr": _qr_data_uri(key, request.user),
        "secret": totp_key_base32(key),
        "required": two_factor_required(user=request.user),
    }
    return render(request, "accounts/two_factor_setup.html", context)


@never_cache
def two_factor_view(request: AuthenticatedRequest) -> HttpResponse:
    """The account's two-factor status."""
    context = {
        "enrolled": has_authenticator(user=request.user),
        "codes_left": recovery_codes_left(user=request.user),
        "required": two_factor_required(user=request.user),
        "verified": is_verified(request),
    }
    return render(request, "accounts/two_factor.html", context)


@never_cache
@require_POST
def recovery_codes_replace_view(request: AuthenticatedRequest) -> HttpResponse:
    if not has_authenticator(user=request.user) or not is_verified(request):
        return redirect("accounts:two_factor")
    codes = recovery_codes_replace(request=request, user=request.user)
    return render(
        request, "accounts/recovery_codes.html", {"codes": codes, "next": reverse("home")}
    )
