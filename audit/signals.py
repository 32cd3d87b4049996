"""Log in, log out, failed log in and lockout, recorded from Django's and django-axes' signals.

Connected in ``AuditConfig.ready``. The audit app comes after ``axes`` in INSTALLED_APPS, so
axes has already counted a failure (and marked the request as locked out) when these run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest

from audit.services import audit_record

if TYPE_CHECKING:
    # Typing only: audit sits below accounts in the stack of apps (tests/test_layers.py).
    from accounts.models import User

# Set on the request by whoever ends a session for a reason other than the user's click.
LOGOUT_REASON_ATTR = "audit_logout_reason"


def _user_named(username: str) -> User | None:
    # A name that is no user's is not stored: people type their password there by mistake.
    if not username:
        return None
    users = get_user_model().objects.select_related("manufacturer")
    return users.filter(username=username).first()


def on_logged_in(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    audit_record(action="auth.logged_in", actor=user, obj=user, request=request)


def on_logged_out(
    sender: Any, request: HttpRequest, user: User | None = None, **kwargs: Any
) -> None:
    if user is None or not user.is_authenticated:
        return
    reason = getattr(request, LOGOUT_REASON_ATTR, None)
    if reason:
        audit_record(
            action="auth.session_expired",
            actor=user,
            obj=user,
            request=request,
            details={"reason": reason},
        )
    else:
        audit_record(action="auth.logged_out", actor=user, obj=user, request=request)


def _record_attempt(action: str, username: str, request: HttpRequest | None) -> None:
    user = _user_named(username)
    audit_record(
        action=action,
        actor=user,
        obj=user,
        manufacturer=user.manufacturer if user is not None else None,
        request=request,
        details={} if user is not None else {"unknown_username": True},
    )


def on_login_failed(
    sender: Any,
    credentials: dict[str, Any],
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    if request is not None and getattr(request, "axes_locked_out", False):
        return  # recorded once, as the lockout, by on_locked_out
    _record_attempt("auth.login_failed", str(credentials.get("username") or ""), request)


def on_locked_out(
    sender: Any,
    request: HttpRequest | None = None,
    username: str | None = None,
    ip_address: str | None = None,
    **kwargs: Any,
) -> None:
    _record_attempt("auth.locked_out", username or "", request)
