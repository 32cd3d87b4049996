"""The staff admin: two-factor verified staff only, every change audited.

``OTPAdminSite`` (django-otp) lets in only a user whose session was verified by a confirmed
OTP device. Logging in happens on the portal's own pages (password, then the two-factor step),
so the admin's login page sends people there. Every ModelAdmin registered on this site gets the
audit mixin, whichever app registers it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite

from accounts.access import is_verified
from audit.admin_log import audited


class PortalAdminSite(OTPAdminSite):
    site_header = _("Refurb Portal")
    site_title = _("Refurb Portal")
    index_title = _("Administration")

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    def register(
        self,
        model_or_iterable: type[Model] | Iterable[type[Model]],
        admin_class: type[admin.ModelAdmin[Any]] | None = None,
        **options: Any,
    ) -> None:
        super().register(model_or_iterable, audited(admin_class or admin.ModelAdmin), **options)

    @login_not_required
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Password on the portal's log-in page, then its two-factor step; a verified user who
        is not staff is refused here rather than sent round in a loop."""
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = ""
        next_url = next_url or reverse("admin:index", current_app=self.name)
        if not request.user.is_authenticated:
            return redirect_to_login(next_url, settings.LOGIN_URL)
        if not is_verified(request):
            verify = reverse("accounts:two_factor_verify")
            return redirect(f"{verify}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")
        raise PermissionDenied
