"""Two-factor pages: verify a code after the password, set up an authenticator app, and the
account's two-factor status with new recovery codes."""

from __future__ import annotations

import base64
import logging
import math

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice
from kombu.exceptions import OperationalError as BrokerError

from accounts.access import (
    AuthenticatedRequest,
    PortalRequest,
    is_verified,
    manufacturer_required,
    role_refusal,
)
from accounts.errors import AccountError
from accounts.forms import (
    CompanySettingsForm,
    InvitationForm,
    PortalPasswordResetForm,
    RoleForm,
    TwoFactorCodeForm,
    TwoFactorRequirementForm,
)
from accounts.middleware import two_factor_exempt
from accounts.models import Invitation, User
from accounts.ratelimit import rate_limit_address_consume, rate_limited_response
from accounts.selectors import (
    has_authenticator,
    invitation_by_token,
    recovery_codes_left,
    team_invitations_open,
    team_member,
    team_members,
    two_factor_required,
)
from accounts.services import (
    invitation_accept,
    invitation_create,
    invitation_withdraw,
    password_reset_recorded,
    recovery_codes_replace,
    team_company_settings_set,
    team_member_deactivate,
    team_member_role_set,
    team_two_factor_require,
    totp_enrol,
    totp_key_base32,
    totp_new_key,
    two_factor_verify,
)
from accounts.tasks import password_reset_email_send

SETUP_KEY_SESSION = "two_factor_setup_key"

logger = logging.getLogger(__name__)


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


# --- The team page (issue #18): colleagues, invitations, roles, two-factor -------------------


def _team_page(
    request: PortalRequest,
    *,
    invite_form: InvitationForm | None = None,
    company_form: CompanySettingsForm | None = None,
    new_invitation: Invitation | None = None,
    status: int = 200,
) -> HttpResponse:
    manufacturer = request.manufacturer
    context = {
        "members": team_members(manufacturer=manufacturer),
        "invitations": team_invitations_open(manufacturer=manufacturer),
        "manage_refusal": role_refusal(user=request.user, action="team.manage"),
        "invite_form": invite_form
        or InvitationForm(initial={"language": translation.get_language()}),
        "two_factor_form": TwoFactorRequirementForm(
            initial={"required": manufacturer.require_two_factor}
        ),
        "company_form": company_form
        or CompanySettingsForm(
            initial={
                "time_zone": manufacturer.time_zone,
                "notification_email": manufacturer.notification_email,
            }
        ),
        "roles": User.Role.choices,
        "new_invitation": new_invitation,
    }
    return render(request, "accounts/team.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@manufacturer_required
def team_view(request: PortalRequest) -> HttpResponse:
    """Team: the company's users with their roles, open invitations; for administrators, the
    invitation form, each colleague's role and deactivation, and the two-factor requirement.
    POST actions are told apart by the button's name (``invite``, ``two_factor``,
    ``company``: the company's time zone and notification address)."""
    if request.method == "POST" and "two_factor" in request.POST:
        return _team_two_factor(request)
    if request.method == "POST" and "company" in request.POST:
        return _team_company(request)
    if request.method == "POST":
        return _team_invite(request)
    return _team_page(request)


def _team_invite(request: PortalRequest) -> HttpResponse:
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _team_page(request, invite_form=form, status=400)
    try:
        created = invitation_create(
            actor=request.user,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            language=form.cleaned_data["language"],
            site_url=request.build_absolute_uri("/"),
            request=request,
        )
    except AccountError as exc:
        form.add_error(exc.field, exc.message)
        return _team_page(request, invite_form=form, status=exc.status)
    messages.success(
        request,
        _("Invitation sent to %(email)s.") % {"email": created.invitation.email},
    )
    return redirect("accounts:team")


def _team_company(request: PortalRequest) -> HttpResponse:
    form = CompanySettingsForm(request.POST)
    if not form.is_valid():
        return _team_page(request, company_form=form, status=400)
    try:
        team_company_settings_set(
            actor=request.user,
            time_zone=form.cleaned_data["time_zone"],
            notification_email=form.cleaned_data["notification_email"],
            request=request,
        )
    except AccountError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The company settings are saved."))
    return redirect("accounts:team")


def _team_two_factor(request: PortalRequest) -> HttpResponse:
    form = TwoFactorRequirementForm(request.POST)
    form.is_valid()  # a checkbox: always valid
    try:
        team_two_factor_require(
            actor=request.user, required=form.cleaned_data["required"], request=request
        )
    except AccountError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The two-factor setting is saved."))
    return redirect("accounts:team")


@never_cache
@require_http_methods(["GET", "POST"])
@manufacturer_required
def team_member_view(request: PortalRequest, user_id: int) -> HttpResponse:
    """Change a colleague: ``role`` (with the role chosen) or ``deactivate``. A user of another
    manufacturer is a 404, before the method is looked at."""
    try:
        member = team_member(manufacturer=request.manufacturer, user_id=user_id)
    except User.DoesNotExist as exc:
        raise Http404 from exc
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        if "deactivate" in request.POST:
            team_member_deactivate(actor=request.user, user_id=member.pk, request=request)
            done = _("%(username)s is deactivated and logged out.")
        else:
            form = RoleForm(request.POST)
            role = form.cleaned_data["role"] if form.is_valid() else ""
            team_member_role_set(actor=request.user, user_id=member.pk, role=role, request=request)
            done = _("%(username)s's role is saved.")
    except AccountError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done % {"username": member.get_username()})
    return redirect("accounts:team")


@never_cache
@require_http_methods(["GET", "POST"])
@manufacturer_required
def invitation_withdraw_view(request: PortalRequest, invitation_id: int) -> HttpResponse:
    """Withdraw an open invitation (another manufacturer's is a 404, before the method)."""
    if not Invitation.objects.filter(pk=invitation_id, manufacturer=request.manufacturer).exists():
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        invitation = invitation_withdraw(
            actor=request.user, invitation_id=invitation_id, request=request
        )
    except AccountError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("The invitation of %(email)s is withdrawn.") % {"email": invitation.email}
        )
    return redirect("accounts:team")


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@login_not_required
@two_factor_exempt
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: choose a password, then be logged in with the invitation's role (and
    sent to set up two-factor first when the company requires it)."""
    invitation = invitation_by_token(token=token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    form = SetPasswordForm(
        User(username=invitation.email, email=invitation.email), request.POST or None
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(
                token=token, password=form.cleaned_data["new_password1"], request=request
            )
        except AccountError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user, backend="accounts.backends.PortalBackend")
            return redirect("home")
    return render(
        request, "accounts/invitation_accept.html", {"invitation": invitation, "form": form}
    )


# --- Forgot password (issue #18): Django's views, the portal's look ---------------------------


@method_decorator(two_factor_exempt, name="dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    """Django's, with an abuse limit per client address and per address typed, and the email
    sent by a task whatever the address, so the answer and its timing are the same for an
    address that has an account and one that does not. Over a limit: 429 with the wait."""

    template_name = "accounts/password_reset.html"
    form_class = PortalPasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        email = form.cleaned_data["email"]
        try:
            rate_limit_address_consume(action="password.reset", request=self.request, email=email)
        except AccountError as exc:
            return rate_limited_response(self.request, exc)  # type: ignore[return-value]
        language, domain = translation.get_language(), self.request.get_host()
        try:
            password_reset_email_send.delay(email, language, domain, self.request.is_secure())
        except BrokerError:
            logger.exception("Broker unreachable; a password reset email was not sent")
        return redirect(self.get_success_url())


@method_decorator(two_factor_exempt, name="dispatch")
class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


@method_decorator(two_factor_exempt, name="dispatch")
class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's (the token checked, the link moved out of the URL into the session), with the
    new password audited."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        response = super().form_valid(form)
        password_reset_recorded(user=form.user, request=self.request)
        return response


@method_decorator(two_factor_exempt, name="dispatch")
class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
