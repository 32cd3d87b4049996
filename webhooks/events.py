"""Which audit events become which webhook events, and what each event's data holds.

The data is built inside the transaction that records the audit event, from the rows it names,
so a webhook describes exactly what was committed (and nothing when it rolls back).
"""

from __future__ import annotations

from typing import Any

from audit.models import AuditEvent
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from tokens.models import TokenFile
from workorders.models import WorkOrder

# audit action -> webhook event type (webhooks.models.EVENT_TYPES)
AUDIT_TO_EVENT = {
    "delivery.taken": "delivery.taken",
    "delivery.voided": "delivery.voided",
    "tokens.file_ready": "token_file.ready",
    "tokens.file_failed": "token_file.failed",
    "original_delivery.recorded": "order.delivered",
    "workorders.submitted": "work_order.updated",
    "workorders.replied": "work_order.updated",
    "workorders.status_changed": "work_order.updated",
    "workorders.tool_attached": "work_order.updated",
}


def _delivery(delivery: NewDelivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "order": delivery.order.number,
        "number": delivery.number,
        "product_id": delivery.product.product_id,
        "quantity": delivery.quantity,
        "taken_at": delivery.taken_at.isoformat(),
    }


def event_data(event: AuditEvent, event_type: str) -> dict[str, Any]:
    """The data of webhook event ``event_type`` that audit ``event`` stands for."""
    pk = int(event.object_id)
    if event_type in {"delivery.taken", "delivery.voided"}:
        delivery = NewDelivery.objects.select_related("order", "product").get(pk=pk)
        return {"delivery": _delivery(delivery)}
    if event_type.startswith("token_file."):
        token_file = TokenFile.objects.select_related(
            "delivery__order", "delivery__product", "original_delivery__order"
        ).get(pk=pk)
        # An original delivery's file (issue #16) names its order and O-number instead.
        source = (
            {"delivery": _delivery(token_file.delivery)}
            if token_file.delivery is not None
            else {
                "original_delivery": {
                    "order": token_file.order.number,
                    "number": token_file.delivery_label,
                }
            }
        )
        return {
            **source,
            "file": {
                "status": token_file.status,
                "rows": token_file.row_count,
                "size_bytes": token_file.size_bytes,
                "sha256": token_file.sha256 or None,
            },
        }
    if event_type == "order.delivered":
        order = PurchaseOrder.objects.get(pk=pk)
        return {
            "order": {
                "number": order.number,
                "delivered": order.quantity_delivered,
                "new_tokens_delivered": order.new_tokens_delivered,
                "available": order.available_new_tokens,
            },
            "quantity": event.details.get("quantity"),
        }
    work_order = WorkOrder.objects.select_related("order").get(pk=pk)
    return {
        "work_order": {
            "id": work_order.pk,
            "type": work_order.type,
            "status": work_order.status,
            "order": work_order.order.number if work_order.order else None,
            "tool_available": work_order.has_tool,
        },
        "change": event.action.removeprefix("workorders."),
    }
