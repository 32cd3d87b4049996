"""Writes for API keys: make, revoke, and note a key's use. Every change is audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.access import role_require
from accounts.models import User
from api.errors import ApiError
from api.models import ApiKey
from audit.services import audit_record

# Shown in front of every key so that secret scanners (and people) can tell what it is.
KEY_MARK = "rpk"
# A key's last use is written at most this often: a busy line would otherwise write each request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    api_key: ApiKey
    plaintext: str  # shown once to its maker, never stored


def _hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def api_key_create(
    *,
    user: User,
    name: str,
    scopes: Iterable[str],
    expires_at: dt.datetime | None = None,
    form_key: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> NewKey:
    """Make a key for ``user``'s manufacturer; the plaintext is returned once, never stored.

    ``form_key`` (the portal form's, made when it was rendered) makes a resent form refused with
    ``ApiError("form_reused")`` instead of making a second key (a unique column decides, so two
    sent at once make one key).

    Key format: ``rpk_<prefix>_<secret>`` with an 8-character hex prefix (unique, kept and shown)
    and 43 URL-safe characters (256 random bits). Raises ``ApiError`` on an empty name, no
    scope, an unknown scope or an expiry not in the future, and ``ApiError("role_forbidden")``
    (403) unless ``user``'s role may ``api_keys.manage`` (administrators; ``accounts.access``).
    """
    role_require(user=user, action="api_keys.manage", error=ApiError)
    manufacturer = user.manufacturer
    if manufacturer is None:
        raise ApiError("key_not_found")
    name = (name or "").strip()[:100]
    if not name:
        raise ApiError("name_empty")
    chosen = sorted(set(scopes))
    if not chosen:
        raise ApiError("scopes_empty")
    for scope in chosen:
        if scope not in ApiKey.Scope.values:
            raise ApiError("scope_unknown", scope=scope)
    if expires_at is not None and expires_at <= timezone.now():
        raise ApiError("expiry_past")
    prefix = secrets.token_hex(4)
    plaintext = f"{KEY_MARK}_{prefix}_{secrets.token_urlsafe(32)}"
    if form_key is not None and ApiKey.objects.filter(form_key=form_key).exists():
        raise ApiError("form_reused")
    with transaction.atomic():
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    manufacturer=manufacturer,
                    created_by=user,
                    name=name,
                    prefix=prefix,
                    key_hash=_hash(plaintext),
                    scopes=chosen,
                    expires_at=expires_at,
                    form_key=form_key,
                )
        except IntegrityError as exc:
            if form_key is not None and ApiKey.objects.filter(form_key=form_key).exists():
                raise ApiError("form_reused") from exc
            raise
        audit_record(
            action="api_key.created",
            actor=user,
            obj=api_key,
            manufacturer=manufacturer,
            request=request,
            details={
                "prefix": prefix,
                "scopes": chosen,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return NewKey(api_key=api_key, plaintext=plaintext)


def api_key_revoke(*, key_id: int, user: User, request: HttpRequest | None = None) -> ApiKey:
    """Revoke a key at once. A manufacturer's user may revoke its own manufacturer's keys, staff
    any key; another manufacturer's key is ``key_not_found``; a revoked one ``already_revoked``;
    a role that may not ``api_keys.manage`` (administrators only) ``role_forbidden`` (403).
    """
    role_require(user=user, action="api_keys.manage", error=ApiError)
    with transaction.atomic():
        keys = ApiKey.objects.select_for_update().select_related("manufacturer")
        if not user.is_staff:
            keys = keys.filter(manufacturer=user.manufacturer)
        api_key = keys.filter(pk=key_id).first()
        if api_key is None:
            raise ApiError("key_not_found")
        if api_key.revoked_at is not None:
            raise ApiError("already_revoked")
        api_key.revoked_at = timezone.now()
        api_key.revoked_by = user
        api_key.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(
            action="api_key.revoked",
            actor=user,
            obj=api_key,
            manufacturer=api_key.manufacturer,
            request=request,
            details={"prefix": api_key.prefix, "name": api_key.name},
        )
    return api_key


def api_key_authenticate(*, presented: str) -> ApiKey | None:
    """The active key ``presented`` is (``rpk_<prefix>_<secret>``), or None.

    The row is found by its prefix and the hash compared in constant time. Its ``last_used_at``
    is brought up to date when older than ``LAST_USED_RESOLUTION`` (one UPDATE, no lock).
    """
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_MARK:
        return None
    api_key = (
        ApiKey.objects.select_related("manufacturer", "created_by").filter(prefix=parts[1]).first()
    )
    if api_key is None or not hmac.compare_digest(api_key.key_hash, _hash(presented)):
        return None
    now = timezone.now()
    if not api_key.is_active(now) or not api_key.created_by.is_active:
        return None
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
