from __future__ import annotations

from django.contrib import admin

from refurb_portal.admin import ReadOnlyAdmin
from webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin[WebhookEndpoint]):
    list_display = ["url", "manufacturer", "is_active", "failing_since", "created_at"]
    list_filter = ["is_active", "manufacturer"]
    exclude = ["secret"]


class WebhookAttemptInline(admin.TabularInline[WebhookAttempt, WebhookMessage]):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["attempted_at", "status_code", "error", "duration_ms", "succeeded", "manual"]

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(WebhookMessage)
class WebhookMessageAdmin(ReadOnlyAdmin[WebhookMessage]):
    list_display = ["msg_id", "event_type", "endpoint", "status", "attempt_count", "created_at"]
    list_filter = ["status", "event_type"]
    inlines = [WebhookAttemptInline]
