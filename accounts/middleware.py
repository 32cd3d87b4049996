"""Session time limits and the two-factor step, for every request."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect
from django_otp import user_has_device

from accounts.access import is_verified
from accounts.backends import HAS_CONFIRMED_DEVICE
from accounts.selectors import two_factor_required
from audit.signals import LOGOUT_REASON_ATTR

SESSION_STARTED_KEY = "session_started_at"
SESSION_SEEN_KEY = "session_seen_at"
# The last-seen time is written at most once a minute, not on every request.
SEEN_RESOLUTION_SECONDS = 60
# Sent by requests a page makes by itself (polling, hx-trigger "load" or "every"): templates
# put it on those elements with hx-headers ``{"X-Background-Request": "true"}``. Such requests
# are not activity, so a page left open does not keep its session alive.
BACKGROUND_HEADER = "X-Background-Request"


def is_background_request(request: HttpRequest) -> bool:
    """True for a request the page made by itself, not the person (``BACKGROUND_HEADER``)."""
    return request.headers.get(BACKGROUND_HEADER, "").lower() == "true"


def _redirect(request: HttpRequest, response: HttpResponseRedirect) -> HttpResponse:
    """An HTMX request is sent to the page whole, not swapped into a fragment."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(response.url)
    return response


def _to_login(
    request: HttpRequest, *, login_url: str, field: str = REDIRECT_FIELD_NAME
) -> HttpResponse:
    """To the log-in prompt, then back: to the page the person was on, for an HTMX request
    (a poll, a form posted in place) the page's URL rather than the fragment's."""
    htmx = getattr(request, "htmx", None)
    back = (htmx.current_url_abs_path if htmx else None) or request.get_full_path()
    return _redirect(request, redirect_to_login(back, login_url, field))


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's, but an HTMX request without a session (ended in another tab, say) reloads the
    whole page to the log-in prompt instead of swapping the log-in page into a fragment, and a
    polling element stops polling."""

    # The stubs say HttpResponseRedirect; Django returns whatever this gives, and htmx needs
    # a 200 with HX-Redirect (HttpResponseClientRedirect), not a 302.
    def handle_no_permission(  # type: ignore[override]
        self, request: HttpRequest, view_func: Callable[..., Any]
    ) -> HttpResponse:
        return _to_login(
            request,
            login_url=str(self.get_login_url(view_func)),
            field=self.get_redirect_field_name(view_func),
        )


def two_factor_exempt(view: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a view an unverified user may still use (the two-factor pages, log out)."""
    view.two_factor_exempt = True  # type: ignore[attr-defined]
    return view


def session_start(request: HttpRequest) -> None:
    now = time.time()
    request.session[SESSION_STARTED_KEY] = now
    request.session[SESSION_SEEN_KEY] = now


class SessionTimeoutMiddleware:
    """Ends a session idle for ``SESSION_IDLE_TIMEOUT`` or older than
    ``SESSION_ABSOLUTE_TIMEOUT``, whatever the cookie says; the ending is audited."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            expired = self._expired(request)
            if expired is not None:
                return expired
        return self.get_response(request)

    def _expired(self, request: HttpRequest) -> HttpResponse | None:
        now = time.time()
        started = request.session.get(SESSION_STARTED_KEY)
        seen = request.session.get(SESSION_SEEN_KEY)
        if not isinstance(started, int | float) or not isinstance(seen, int | float):
            session_start(request)  # a session from before this middleware: start counting
            return None
        if now - started > settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds():
            reason = "absolute"
        elif now - seen > settings.SESSION_IDLE_TIMEOUT.total_seconds():
            reason = "idle"
        else:
            if now - seen >= SEEN_RESOLUTION_SECONDS and not is_background_request(request):
                request.session[SESSION_SEEN_KEY] = now
            return None
        setattr(request, LOGOUT_REASON_ATTR, reason)
        logout(request)
        messages.info(request, _("Your session has ended. Please log in again."))
        return _to_login(request, login_url=settings.LOGIN_URL)


class TwoFactorMiddleware:
    """A logged-in user who must use two-factor and has not verified a code in this session
    is sent to verify one (or to set it up first) before any other page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or is_verified(request):
            return None
        if not getattr(view_func, "login_required", True):
            return None
        # The request's user was read with its device flag (accounts.backends): no query here.
        has_device = getattr(user, HAS_CONFIRMED_DEVICE, None)
        if not two_factor_required(user=user, has_device=has_device):
            return None
        # The pages of the two-factor step itself show no navigation: its links only lead back.
        request.two_factor_pending = True  # type: ignore[attr-defined]
        if getattr(view_func, "two_factor_exempt", False):
            return None
        if has_device is None:
            has_device = user_has_device(user, confirmed=True)
        step = "two_factor_verify" if has_device else "two_factor_setup"
        target = f"{reverse(f'accounts:{step}')}?"
        target += urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
        return _redirect(request, HttpResponseRedirect(target))
