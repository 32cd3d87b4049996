from __future__ import annotations

from typing import Any

from audit.models import AuditEvent
from webhooks.events import event_data
from webhooks.services import webhook_emit


def on_audit_event(
    sender: type[AuditEvent], instance: AuditEvent, created: bool, **kw: Any
) -> None:
    """Emit the webhook event an audit event stands for (see ``webhooks.events``)."""
    if not created or instance.manufacturer_id is None:
        return
    found = event_data(instance)
    if found is not None:
        event_type, data = found
        webhook_emit(manufacturer_id=instance.manufacturer_id, event_type=event_type, data=data)
