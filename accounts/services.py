"""Writes for accounts: two-factor set-up and verification, recovery codes, ending sessions."""

from __future__ import annotations

import math
from base64 import b32encode
from binascii import unhexlify
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from accounts.errors import AccountError
from accounts.models import User
from audit.services import audit_record

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def totp_new_key() -> str:
    """A fresh TOTP secret (hex, as django-otp stores it)."""
    return random_hex(20)


def totp_key_base32(key: str) -> str:
    """The secret as people type it into an authenticator app."""
    return b32encode(unhexlify(key)).decode()


def _normalise(code: str) -> str:
    return "".join(code.split()).lower()


def _method(device: Device) -> str:
    return "recovery_code" if isinstance(device, StaticDevice) else "authenticator"


def two_factor_verify(*, request: HttpRequest, user: User, code: str) -> Device:
    """Check ``code`` against the user's confirmed devices and mark the session verified.

    Each device checks under a row lock (``select_for_update``), so one code is accepted once:
    a TOTP code not newer than the last accepted one is refused (replay), a recovery code is
    deleted when used. Wrong codes slow the devices down (django-otp's throttling: 1, 2, 4...
    seconds). Raises ``AccountError`` when the code is refused; both outcomes are audited.
    """
    code = _normalise(code)
    verified: Device | None = None
    wait = 0.0
    # Digits go to the authenticator, anything else to the recovery codes, so that using a
    # recovery code does not count as a wrong code against the authenticator.
    kind = TOTPDevice if code.isdigit() else StaticDevice
    with transaction.atomic():
        devices = [
            device
            for device in devices_for_user(user, confirmed=True, for_verify=True)
            if isinstance(device, kind)
        ]
        for device in devices:
            allowed, info = device.verify_is_allowed()
            if not allowed and info and info.get("locked_until"):
                wait = max(wait, (info["locked_until"] - timezone.now()).total_seconds())
        if wait <= 0 and code:
            verified = next((d for d in devices if d.verify_token(code)), None)
    if verified is None:
        audit_record(
            action="auth.two_factor_failed",
            actor=user,
            obj=user,
            request=request,
            details={"throttled": wait > 0},
        )
        if wait > 0:
            raise AccountError("code_throttled", seconds=max(1, math.ceil(wait)))
        raise AccountError("code_invalid")
    _session_verified(request, verified)
    audit_record(
        action="auth.two_factor_verified",
        actor=user,
        obj=user,
        request=request,
        details={"method": _method(verified)},
    )
    return verified


def _recovery_codes_issue(*, user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.TWO_FACTOR_RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def totp_enrol(*, request: HttpRequest, user: User, key: str, code: str) -> list[str]:
    """Confirm a new authenticator app by its first code; return fresh recovery codes.

    The caller must allow it only to a user with no confirmed device, or whose session is
    already verified: otherwise a stolen password would be enough to add a second factor.
    """
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            raise AccountError("already_enrolled")
        device = TOTPDevice(user=user, name=AUTHENTICATOR_NAME, key=key, confirmed=False)
        device.save()
        if not device.verify_token(_normalise(code)):
            raise AccountError("code_invalid")  # rolls the unconfirmed device back
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _recovery_codes_issue(user=user)
        audit_record(action="auth.two_factor_enrolled", actor=user, obj=user, request=request)
    _session_verified(request, device)
    return codes


def _session_verified(request: HttpRequest, device: Device) -> None:
    """Mark the session verified by ``device`` under a new session key: a key planted in the
    browser before the second factor (session fixation) must not become a verified session.
    ``cycle_key`` keeps the session's data and deletes the old key's row."""
    request.session.cycle_key()
    otp_login(request, device)


def recovery_codes_replace(*, request: HttpRequest, user: User) -> list[str]:
    """New recovery codes; the old ones stop working. For a verified session only."""
    with transaction.atomic():
        codes = _recovery_codes_issue(user=user)
        audit_record(action="auth.recovery_codes_replaced", actor=user, obj=user, request=request)
    return codes


def user_deactivate(*, user: User) -> None:
    """Deactivate ``user`` (if still active) and, once that commits, end all their sessions
    (``user_sessions_end``): a rolled-back deactivation logs no one out. The admin's user form
    calls it when staff clear "active"."""
    with transaction.atomic():
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
        transaction.on_commit(lambda: user_sessions_end(user=user))


def user_sessions_end(*, user: User) -> int:
    """Delete every live session of ``user`` (when they are deactivated); return how many.

    Sessions are stored in the database (``SESSION_ENGINE``); each is decoded to find its
    user. Deactivations are rare staff actions, so reading the live sessions is affordable.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore
    user_id = str(user.pk)
    ended = 0
    live = Session.objects.filter(expire_date__gt=timezone.now())
    for session in live.iterator():
        if str(session.get_decoded().get("_auth_user_id")) == user_id:
            store(session_key=session.session_key).delete()
            ended += 1
    if ended:
        audit_record(
            action="auth.sessions_ended",
            obj=user,
            manufacturer=user.manufacturer,
            details={"sessions": ended, "reason": "deactivated"},
        )
    return ended
