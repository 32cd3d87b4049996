"""Reads about users' security: whether a user must use two-factor, and with which devices."""

from __future__ import annotations

from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User


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
