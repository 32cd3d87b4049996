"""Who may see what: every portal read goes through these, so tenancy lives in one place."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.middleware import HtmxDetails

from accounts.models import Manufacturer, User


class PortalRequest(HttpRequest):
    """A logged-in manufacturer user's request (for type checkers)."""

    user: User
    htmx: HtmxDetails
    manufacturer: Manufacturer


def manufacturer_required(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Portal pages belong to a manufacturer's users; platform staff work in the admin."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        manufacturer = getattr(user, "manufacturer", None)
        if manufacturer is None:
            return redirect("admin:index")
        request.manufacturer = manufacturer  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped


class AuthenticatedRequest(HttpRequest):
    """A logged-in user's request, manufacturer or staff (for type checkers)."""

    user: User
    htmx: HtmxDetails


def is_verified(request: HttpRequest) -> bool:
    """Whether this session passed the two-factor step (django-otp's OTPMiddleware)."""
    check = getattr(request.user, "is_verified", None)
    return bool(check()) if callable(check) else False
