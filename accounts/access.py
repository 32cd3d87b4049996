"""Who may see what: every portal read goes through these, so tenancy lives in one place."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_htmx.middleware import HtmxDetails

from accounts.models import Manufacturer, User
from refurb_portal.errors import DomainError


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


# --- Roles (issue #18): what each role of a manufacturer's team may do, in one place ---------
# Every service that writes for one of these actions calls ``role_require`` (the portal, the
# admin, the API and commands all reach the same services); pages ask ``role_refusal`` to hide
# or disable the button and say why. An API key acts as the user who made it, with that user's
# role at the time of each request. Platform staff work in the admin and are not limited here.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "delivery.take": frozenset({User.Role.ADMINISTRATOR, User.Role.PLANNER}),
    "delivery.void": frozenset({User.Role.ADMINISTRATOR, User.Role.PLANNER}),
    "tokens.download": frozenset({User.Role.ADMINISTRATOR, User.Role.PLANNER}),
    "workorders.submit": frozenset({User.Role.ADMINISTRATOR, User.Role.PLANNER}),
    # Whoever may submit a work order may carry on its conversation: reply, confirm, close.
    "workorders.reply": frozenset({User.Role.ADMINISTRATOR, User.Role.PLANNER}),
    "team.manage": frozenset({User.Role.ADMINISTRATOR}),
    "api_keys.manage": frozenset({User.Role.ADMINISTRATOR}),
    "webhooks.manage": frozenset({User.Role.ADMINISTRATOR}),
}

ROLE_ACTION_LABELS: dict[str, Promise] = {
    "delivery.take": _("take new deliveries"),
    "delivery.void": _("void new deliveries"),
    "tokens.download": _("download token files"),
    "workorders.submit": _("submit work orders"),
    "workorders.reply": _("reply to, confirm or close work orders"),
    "team.manage": _("manage your company's team"),
    "api_keys.manage": _("make or revoke API keys"),
    "webhooks.manage": _("manage webhooks"),
}

# Each app's DomainError lists this text under ``role_forbidden`` (status 403).
ROLE_FORBIDDEN_MESSAGE = _(
    "Your role is %(role)s, which may not %(action)s. An administrator of your company can "
    "change your role."
)


def role_allows(*, user: User, action: str) -> bool:
    """Whether ``user`` may do ``action`` (a key of ``ROLE_ACTIONS``; an unknown key is a
    ``KeyError``). Staff: always (their limits are the admin's); inactive users: never."""
    allowed = ROLE_ACTIONS[action]
    if not user.is_active:
        return False
    if user.is_staff and user.manufacturer_id is None:
        return True
    return user.role in allowed


def role_refusal(*, user: User, action: str) -> str:
    """Why ``user`` may not do ``action``, translated, for a page; ``""`` when they may."""
    if role_allows(user=user, action=action):
        return ""
    return str(ROLE_FORBIDDEN_MESSAGE) % {
        "role": user.get_role_display(),
        "action": ROLE_ACTION_LABELS[action],
    }


def role_require(*, user: User, action: str, error: type[DomainError]) -> None:
    """Refuse ``action`` to a ``user`` whose role does not allow it: raises
    ``error("role_forbidden", role=..., action=...)``, the calling app's own domain error,
    whose ``messages`` hold ``ROLE_FORBIDDEN_MESSAGE``. Called first in each writing service."""
    if not role_allows(user=user, action=action):
        raise error(
            "role_forbidden", role=user.get_role_display(), action=ROLE_ACTION_LABELS[action]
        )
