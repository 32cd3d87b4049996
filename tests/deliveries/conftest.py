from __future__ import annotations

import html
import re
import uuid

from django.http import HttpResponse

from accounts.models import User
from audit.models import AuditEvent
from deliveries.models import NewDelivery
from deliveries.services import TakeResult, new_delivery_take
from orders.models import PurchaseOrder


def take(
    order: PurchaseOrder,
    user: User,
    quantity: int,
    *,
    product_id: int | None = None,
    key: uuid.UUID | None = None,
) -> TakeResult:
    """Take a new delivery through the service, on the order's first product by default."""
    if product_id is None:
        product_id = order.products.order_by("pk").values_list("pk", flat=True)[0]
    return new_delivery_take(
        order_id=order.pk,
        product_id=product_id,
        quantity=quantity,
        user=user,
        idempotency_key=key or uuid.uuid4(),
    )


def state(order: PurchaseOrder) -> tuple[int, int, int, int]:
    """What a refused request must leave unchanged: the counter, the deliveries, the audit."""
    order.refresh_from_db()
    return (
        order.new_tokens_delivered,
        NewDelivery.objects.filter(order=order).count(),
        NewDelivery.objects.count(),
        AuditEvent.objects.filter(action="delivery.taken").count(),
    )


def page_text(response: HttpResponse) -> str:
    """The response's text as a person reads it: tags dropped, entities and spaces folded."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def form_key(response: HttpResponse) -> str:
    """The idempotency key the rendered form will send."""
    return str(response.context["form"]["idempotency_key"].value())
