from __future__ import annotations

from functools import partial
from typing import Any

from audit.models import AuditEvent
from webhooks.events import AUDIT_TO_EVENT, event_data
from webhooks.services import webhook_emit


def on_audit_event(
    sender: type[AuditEvent], instance: AuditEvent, created: bool, **kw: Any
) -> None:
    """Emit the webhook event an audit event stands for (see ``webhooks.events``)."""
    event_type = AUDIT_TO_EVENT.get(instance.action)
    if not created or event_type is None or instance.manufacturer_id is None:
        return
    if not instance.object_id:
        return
    webhook_emit(
        manufacturer_id=instance.manufacturer_id,
        event_type=event_type,
        data=partial(event_data, instance, event_type),
    )
