"""Writes to the audit trail. Call ``audit_record`` inside the transaction of the change it
records, so the event and the change commit or roll back together.

Rows are only ever inserted, then sealed into the hash chain by ``audit_seal`` after their
commit: PostgreSQL refuses DELETE and every other UPDATE on the table (see ``AuditEvent``).
Nothing secret is stored: details and the object's text pass through ``audit.redaction`` first.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, models, transaction
from django.http import HttpRequest

from audit.models import AuditEvent
from audit.redaction import redact, redact_value
from refurb_portal import metrics
from refurb_portal.request_id import current_request_id

if TYPE_CHECKING:
    # Typing only: audit sits below accounts in the stack of apps (tests/test_layers.py).
    from accounts.models import Manufacturer, User


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or behind ``TRUSTED_PROXY_COUNT`` reverse proxies
    the address the outermost trusted proxy saw (counted from the right of X-Forwarded-For, so
    a client cannot choose it by sending the header itself)."""
    if request is None:
        return None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies and _is_ip(forwarded[-proxies]):
            return forwarded[-proxies]
    address = request.META.get("REMOTE_ADDR", "")
    return address if _is_ip(address) else None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def audit_record(
    *,
    action: str,
    actor: User | None = None,
    obj: models.Model | None = None,
    manufacturer: Manufacturer | None = None,
    request: HttpRequest | None = None,
    details: dict[str, Any] | None = None,
    username: str = "",
) -> AuditEvent:
    """Append one event. ``manufacturer`` defaults to the actor's, so tenants see their own."""
    if manufacturer is None and actor is not None:
        manufacturer = actor.manufacturer
    event = AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_username=(username or (actor.get_username() if actor is not None else ""))[:150],
        manufacturer=manufacturer,
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=redact(str(obj))[:200] if obj is not None else "",
        ip_address=client_ip(request),
        details=redact_value(details or {}),
        request_id=current_request_id(),
    )
    # Counted as recorded. The rare take that fails after its event is written is counted all
    # the same.
    metrics.audit_event(action=action, details=event.details)
    if settings.AUDIT_SEAL_ON_COMMIT and connection.vendor == "postgresql":
        # Tests and development: the chain is sealed at once, in a transaction of its own after
        # this one commits (never inside it: that would bring back the chain lock's queue).
        # robust: the event is committed; the relay or Celery beat seals it if this fails.
        transaction.on_commit(audit_seal, robust=True)
    return event


# Events sealed by one call of the database's audit_seal (migration audit.0005).
SEAL_BATCH = 1000


def audit_seal(*, max_rows: int = SEAL_BATCH) -> int:
    """Seal up to ``max_rows`` committed unsealed events into the hash chain, oldest id first,
    and return how many (0 on SQLite, which keeps no chain).

    PostgreSQL's ``audit_seal`` takes the chain's advisory lock (so sealers run one at a time)
    and gives each event the next ``chain_position``, the previous event's hash and its own
    ``hash``, computed by the table's trigger. Call it outside a transaction (the relay, the
    Celery beat task, an ``on_commit`` callback): inside one, the lock would be held, and the
    events sealed invisible to others, until that transaction ends.
    """
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT audit_seal(%s)", [max_rows])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def audit_seal_all() -> int:
    """``audit_seal`` until no committed event is left unsealed; returns how many were sealed."""
    total = 0
    while (sealed := audit_seal()) > 0:
        total += sealed
        if sealed < SEAL_BATCH:
            break
    return total
