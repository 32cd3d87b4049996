"""Reads about users' security: whether a user must use two-factor, and with which devices."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Invitation, Manufacturer, User


def two_factor_required(*, user: User, has_device: bool | None = None) -> bool:
    """Staff always; a manufacturer's users when their company turned it on; and anyone who
    set it up, since a second factor that can be skipped protects nothing.

    ``has_device``: whether the user has a confirmed device, when the caller already read it
    (the request's user carries it: ``accounts.backends.HAS_CONFIRMED_DEVICE``); else it is read.
    """
    if user.is_staff:
        return True
    if user.manufacturer_id is not None and user.manufacturer.require_two_factor:  # type: ignore[union-attr]
        return True
    return user_has_device(user, confirmed=True) if has_device is None else has_device


def has_authenticator(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def recovery_device(*, user: User) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, confirmed=True).first()


# --- The manufacturer's team (issue #18) ------------------------------------------------------


def team_members(*, manufacturer: Manufacturer) -> QuerySet[User]:
    """The manufacturer's users, active first, then by user name; never anyone else's."""
    return User.objects.filter(manufacturer=manufacturer).order_by("-is_active", "username")


def team_member(*, manufacturer: Manufacturer, user_id: int) -> User:
    """One colleague; ``User.DoesNotExist`` (a 404 in views) for a user of another
    manufacturer or none."""
    return team_members(manufacturer=manufacturer).get(pk=user_id)


def team_invitations_open(*, manufacturer: Manufacturer) -> QuerySet[Invitation]:
    """Invitations whose link still works: not accepted, withdrawn or expired."""
    return Invitation.objects.filter(
        manufacturer=manufacturer,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).select_related("invited_by")


def invitation_by_token(*, token: str) -> Invitation | None:
    """The open invitation whose link carries ``token``; None for any other (unknown, used,
    withdrawn, expired)."""
    invitation = (
        Invitation.objects.select_related("manufacturer")
        .filter(token_hash=Invitation.token_digest(token))
        .first()
    )
    return invitation if invitation is not None and invitation.is_open() else None
