from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = [
        "occurred_at",
        "actor_username",
        "manufacturer",
        "action",
        "object_repr",
        "ip_address",
    ]
    list_filter = ["action", "manufacturer", "occurred_at"]
    search_fields = ["actor_username", "action", "object_repr", "object_id", "ip_address"]
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
