"""Writes for accounts: two-factor set-up and verification, recovery codes, ending sessions."""

from __future__ import annotations

import logging
import math
import secrets
import smtplib
from base64 import b32encode
from binascii import unhexlify
from dataclasses import dataclass
from functools import partial
from importlib import import_module

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.sessions.models import Session
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from accounts.access import ROLE_ACTION_LABELS, role_require
from accounts.errors import AccountError
from accounts.models import Invitation, Manufacturer, User
from accounts.time_zone_names import validate_time_zone
from audit.services import audit_record
from refurb_portal.locking import busy_refused_as, lock_row

logger = logging.getLogger(__name__)

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


# --- The manufacturer's team: roles, invitations, deactivation, two-factor (issue #18) -------
# Every write of an administrator's Team page is here. The caller finds the colleague within
# the actor's own manufacturer first (``accounts.selectors.team_member``: another's is a 404);
# each service checks again under the manufacturer's row lock, which also serializes the
# "at least one active administrator" rule: two administrators demoting or deactivating each
# other at the same moment cannot both succeed.


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    token: str  # for the emailed link only; never stored


def _lock_team(actor: User) -> Manufacturer:
    """Lock the actor's manufacturer row and check, under it, that the actor is still an active
    administrator there. Raises ``AccountError("role_forbidden")`` otherwise."""
    if actor.manufacturer_id is None:
        raise AccountError(
            "role_forbidden",
            role=actor.get_role_display(),
            action=ROLE_ACTION_LABELS["team.manage"],
        )
    manufacturer = lock_row(Manufacturer.objects.all(), pk=actor.manufacturer_id)
    actor.refresh_from_db(fields=["role", "is_active"])
    role_require(user=actor, action="team.manage", error=AccountError)
    return manufacturer


def _colleague(manufacturer: Manufacturer, user_id: int) -> User:
    """The colleague, locked; ``User.DoesNotExist`` for anyone of another manufacturer."""
    return User.objects.select_for_update().get(pk=user_id, manufacturer=manufacturer)


def invitation_create(
    *,
    actor: User,
    email: str,
    role: str,
    language: str,
    site_url: str,
    request: HttpRequest | None = None,
) -> NewInvitation:
    """Invite ``email`` to the actor's manufacturer with ``role``; the link is emailed (in
    ``language``, a code of ``settings.LANGUAGES``) once the transaction commits.

    The token is 32 random bytes (``secrets.token_urlsafe``); only its SHA-256 is stored. An
    open invitation of the same address to the same manufacturer is withdrawn (one live link
    per address). The link works once, for ``settings.INVITATION_VALID_FOR``. Raises
    ``AccountError``: ``role_forbidden`` (the actor is not an administrator), ``role_unknown``,
    ``already_member`` (a colleague of the actor has this address or user name). An address
    with an account elsewhere (another manufacturer, staff) is invited like any other, so that
    the answer does not tell one company who works at another; its link then refuses with
    ``email_taken``, to the address's owner only. Audited as ``team.invited``. Sending failures
    are logged, never raised (``invitation_email_send``).
    """
    email = email.strip()
    if role not in User.Role.values:
        raise AccountError("role_unknown")
    token = secrets.token_urlsafe(32)
    with busy_refused_as(AccountError), transaction.atomic():
        manufacturer = _lock_team(actor)
        if User.objects.filter(
            Q(email__iexact=email) | Q(username__iexact=email), manufacturer=manufacturer
        ).exists():
            raise AccountError("already_member", email=email)
        now = timezone.now()
        Invitation.objects.filter(
            manufacturer=manufacturer,
            email__iexact=email,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            manufacturer=manufacturer,
            email=email,
            role=role,
            language=language,
            token_hash=Invitation.token_digest(token),
            invited_by=actor,
            expires_at=now + settings.INVITATION_VALID_FOR,
        )
        audit_record(
            action="team.invited",
            actor=actor,
            obj=invitation,
            manufacturer=manufacturer,
            request=request,
            details={"email": email, "role": role},
        )
        link = site_url.rstrip("/") + reverse("accounts:invitation_accept", args=[token])
        transaction.on_commit(
            partial(invitation_email_send, invitation_id=invitation.pk, link=link), robust=True
        )
    return NewInvitation(invitation=invitation, token=token)


def invitation_email_send(*, invitation_id: int, link: str) -> bool:
    """Email the invitation's link, in its language. Returns whether the mail server took it;
    an unreachable or refusing server is logged, not raised (the administrator can invite the
    address again, which withdraws this link)."""
    invitation = Invitation.objects.select_related("manufacturer", "invited_by").get(
        pk=invitation_id
    )
    with translation.override(invitation.language):
        context = {"invitation": invitation, "link": link}
        subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
        body = render_to_string("accounts/email/invitation.txt", context)
    try:
        mailers.default.send_messages(
            [EmailMessage(subject=subject, body=body, to=[invitation.email])]
        )
    except (smtplib.SMTPException, OSError):
        logger.exception("Could not send the invitation %s", invitation_id)
        return False
    return True


def invitation_withdraw(
    *, actor: User, invitation_id: int, request: HttpRequest | None = None
) -> Invitation:
    """Withdraw an open invitation of the actor's manufacturer (its link stops working).
    ``Invitation.DoesNotExist`` for another manufacturer's; audited as
    ``team.invitation_withdrawn``."""
    with busy_refused_as(AccountError), transaction.atomic():
        manufacturer = _lock_team(actor)
        invitation = Invitation.objects.select_for_update().get(
            pk=invitation_id, manufacturer=manufacturer
        )
        if invitation.is_open():
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            audit_record(
                action="team.invitation_withdrawn",
                actor=actor,
                obj=invitation,
                manufacturer=manufacturer,
                request=request,
                details={"email": invitation.email},
            )
    return invitation


def invitation_accept(*, token: str, password: str, request: HttpRequest | None = None) -> User:
    """Accept an invitation: make the user (user name and email: the invited address; role:
    the invitation's), with ``password`` (validated by the caller's ``SetPasswordForm``).

    The invitation row is locked, so a link used twice at once makes one user. Raises
    ``AccountError("invitation_invalid")`` for an unknown, used, withdrawn or expired link,
    ``AccountError("email_taken")`` when the address got an account meanwhile. Audited as
    ``team.invitation_accepted``. The caller logs the new user in.
    """
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("manufacturer")
            .filter(token_hash=Invitation.token_digest(token))
            .first()
        )
        if invitation is None or not invitation.is_open():
            raise AccountError("invitation_invalid")
        if User.objects.filter(
            Q(email__iexact=invitation.email) | Q(username__iexact=invitation.email)
        ).exists():
            raise AccountError("email_taken")
        user = User(
            username=invitation.email,
            email=invitation.email,
            manufacturer=invitation.manufacturer,
            role=invitation.role,
        )
        user.set_password(password)
        user.save()
        invitation.accepted_at = timezone.now()
        invitation.accepted_user = user
        invitation.save(update_fields=["accepted_at", "accepted_user"])
        audit_record(
            action="team.invitation_accepted",
            actor=user,
            obj=user,
            manufacturer=invitation.manufacturer,
            request=request,
            details={"email": invitation.email, "role": invitation.role},
        )
    return user


def team_member_role_set(
    *, actor: User, user_id: int, role: str, request: HttpRequest | None = None
) -> User:
    """Give a colleague ``role``. Not one's own (``not_yourself``), so an administrator cannot
    lock themselves out and the company always keeps the acting administrator; the check runs
    under the manufacturer's row lock. ``User.DoesNotExist`` for another manufacturer's user.
    Raises ``AccountError`` (``role_forbidden``, ``role_unknown``, ``not_yourself``); audited as
    ``team.role_changed`` when the role changes."""
    if role not in User.Role.values:
        raise AccountError("role_unknown")
    with busy_refused_as(AccountError), transaction.atomic():
        manufacturer = _lock_team(actor)
        member = _colleague(manufacturer, user_id)
        if member.pk == actor.pk:
            raise AccountError("not_yourself")
        if member.role != role:
            previous = member.role
            member.role = role
            member.save(update_fields=["role"])
            audit_record(
                action="team.role_changed",
                actor=actor,
                obj=member,
                manufacturer=manufacturer,
                request=request,
                details={"user": member.get_username(), "from": previous, "to": role},
            )
    return member


def team_member_deactivate(
    *, actor: User, user_id: int, request: HttpRequest | None = None
) -> User:
    """Deactivate a colleague: they cannot log in, their sessions end after the commit
    (``user_deactivate``), their API keys stop working. Not oneself (``not_yourself``); the
    company keeps at least one active administrator (``last_administrator``), checked under the
    manufacturer's row lock. ``User.DoesNotExist`` for another manufacturer's user. Audited as
    ``team.deactivated``."""
    with busy_refused_as(AccountError), transaction.atomic():
        manufacturer = _lock_team(actor)
        member = _colleague(manufacturer, user_id)
        if member.pk == actor.pk:
            raise AccountError("not_yourself")
        if not member.is_active:
            raise AccountError("already_inactive", username=member.get_username())
        others = User.objects.filter(
            manufacturer=manufacturer, is_active=True, role=User.Role.ADMINISTRATOR
        ).exclude(pk=member.pk)
        if not others.exists():
            raise AccountError("last_administrator")
        user_deactivate(user=member)
        audit_record(
            action="team.deactivated",
            actor=actor,
            obj=member,
            manufacturer=manufacturer,
            request=request,
            details={"user": member.get_username()},
        )
    return member


def team_two_factor_require(
    *, actor: User, required: bool, request: HttpRequest | None = None
) -> Manufacturer:
    """Turn the company's two-factor requirement on or off. When on, each user without an
    authenticator is sent to set one up at their next page (``TwoFactorMiddleware``). Audited
    as ``team.two_factor_required`` / ``team.two_factor_optional`` when it changes."""
    with busy_refused_as(AccountError), transaction.atomic():
        manufacturer = _lock_team(actor)
        if manufacturer.require_two_factor != required:
            manufacturer.require_two_factor = required
            manufacturer.save(update_fields=["require_two_factor"])
            audit_record(
                action="team.two_factor_required" if required else "team.two_factor_optional",
                actor=actor,
                obj=manufacturer,
                manufacturer=manufacturer,
                request=request,
            )
    return manufacturer


def team_company_settings_set(
    *, actor: User, time_zone: str, notification_email: str, request: HttpRequest | None = None
) -> Manufacturer:
    """Set the company's default time zone (an IANA name of ``time_zone_names()``, or "" for
    UTC) and its notification address ("" for none). Administrators only (``_lock_team``:
    ``AccountError("role_forbidden")``); an unknown zone raises ``ValidationError``. Audited as
    ``team.company_settings_changed`` when something changes (the address itself is not kept
    in the trail, only whether there is one)."""
    if time_zone:
        validate_time_zone(time_zone)
    with busy_refused_as(AccountError), transaction.atomic():
        manufacturer = _lock_team(actor)
        before = (manufacturer.time_zone, manufacturer.notification_email)
        if before != (time_zone, notification_email):
            manufacturer.time_zone = time_zone
            manufacturer.notification_email = notification_email
            manufacturer.save(update_fields=["time_zone", "notification_email"])
            audit_record(
                action="team.company_settings_changed",
                actor=actor,
                obj=manufacturer,
                manufacturer=manufacturer,
                request=request,
                details={
                    "time_zone": time_zone or "UTC",
                    "notification_address": bool(notification_email),
                },
            )
    return manufacturer


# --- Forgot password (issue #18) -------------------------------------------------------------


def password_reset_email_send(*, email: str, language: str, domain: str, use_https: bool) -> int:
    """Email a reset link to each active user with ``email`` (Django's ``PasswordResetForm``:
    users with a usable password), in ``language``; audited per user as
    ``auth.password_reset_requested``. Returns how many users were emailed. Nothing happens,
    and nothing is audited, for an address no one has: the page answers the same either way,
    and this runs in a Celery task so that the time it takes does not tell either. A mail
    server that refuses is logged, not raised."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return 0
    users = list(form.get_users(form.cleaned_data["email"]))
    with translation.override(language):
        # Django's form logs a mail server's refusal (logger django.contrib.auth), never raises.
        form.save(
            domain_override=domain,
            use_https=use_https,
            subject_template_name="accounts/email/password_reset_subject.txt",
            email_template_name="accounts/email/password_reset.txt",
        )
    for user in users:
        audit_record(action="auth.password_reset_requested", actor=user, obj=user)
    return len(users)


def password_reset_recorded(*, user: User, request: HttpRequest | None = None) -> None:
    """Audit a password set through a reset link (``auth.password_reset_done``); Django's
    ``PasswordResetConfirmView`` wrote it. Other sessions end by themselves (the session's
    password hash no longer matches)."""
    audit_record(action="auth.password_reset_done", actor=user, obj=user, request=request)
