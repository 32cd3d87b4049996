from __future__ import annotations

from functools import partial
from typing import Any

from audit.models import AuditEvent
from webhooks.events import AUDIT_TO_EVENT, event_data
from webhooks.services import webhook_emit


def on_audit_event(sender: type[AuditEvent], instance: AuditEvent, **kw: Any) -> None:
    """Emit the webhook event an audit event stands for (see ``webhooks.events``).

    Connected to ``pre_save``: the messages are written just before the event is inserted, in
    the same transaction (a failing insert rolls them back), because from the event's insert to
    the commit every writer of the audit trail waits on its chain lock (audit.0003), and the
    endpoint lookup and the messages need not be inside that window."""
    event_type = AUDIT_TO_EVENT.get(instance.action)
    if instance.pk is not None or event_type is None or instance.manufacturer_id is None:
        return
    if not instance.object_id:
        return
    webhook_emit(
        manufacturer_id=instance.manufacturer_id,
        event_type=event_type,
        data=partial(event_data, instance, event_type),
    )
