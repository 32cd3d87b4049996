"""Reads for webhooks; every portal read is scoped to one manufacturer."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import Manufacturer
from webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

RECENT_MESSAGES = 50


def webhook_endpoint_list(*, manufacturer: Manufacturer) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(manufacturer=manufacturer)


def webhook_endpoint_for_manufacturer(
    *, manufacturer: Manufacturer, pk: int
) -> WebhookEndpoint | None:
    """The endpoint ``pk`` if it is ``manufacturer``'s; None otherwise (a 404)."""
    return WebhookEndpoint.objects.filter(manufacturer=manufacturer, pk=pk).first()


def webhook_recent_messages(*, endpoint: WebhookEndpoint) -> list[WebhookMessage]:
    """The endpoint's last ``RECENT_MESSAGES`` messages, newest first, each with its attempts."""
    return list(
        WebhookMessage.objects.filter(endpoint=endpoint)
        .prefetch_related(
            Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("attempted_at", "id"))
        )
        .order_by("-created_at", "-id")[:RECENT_MESSAGES]
    )
