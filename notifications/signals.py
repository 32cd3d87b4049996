from __future__ import annotations

from typing import Any

from audit.models import AuditEvent
from notifications.events import READERS
from notifications.services import notify_audit_event


def on_audit_event(
    sender: type[AuditEvent], instance: AuditEvent, created: bool, **kw: Any
) -> None:
    """Tell whoever an audit event concerns (see ``notifications.events``)."""
    if created and instance.action in READERS:
        notify_audit_event(instance)
