"""Writes to the audit trail. Call ``audit_record`` inside the transaction of the change it
records, so the event and the change commit or roll back together."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from accounts.models import Manufacturer, User
from audit.models import AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


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
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_username=username or (actor.get_username() if actor is not None else ""),
        manufacturer=manufacturer,
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        ip_address=client_ip(request),
        details=details or {},
    )
