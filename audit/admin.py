from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from audit.actions import action_label
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from refurb_portal.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin[AuditEvent]):
    """Staff search the trail; nobody adds, changes or deletes (the database refuses too)."""

    list_display = [
        "occurred_at",
        "actor_username",
        "manufacturer",
        "action_display",
        "object_type",
        "object_repr",
        "ip_address",
    ]
    list_filter = ["action", "manufacturer", "occurred_at"]
    search_fields = [
        "actor_username",
        "action",
        "object_type",
        "object_repr",
        "object_id",
        "ip_address",
        "manufacturer__name",
    ]
    list_select_related = ["manufacturer"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    readonly_fields = [
        "occurred_at",
        "chain_position",
        "hash",
        "actor_username",
        "actor",
        "manufacturer",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "ip_address",
        "details_display",
    ]
    fields = readonly_fields  # type: ignore[assignment]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The staff's Activity: above the list, whether the hash chain is intact (a full walk,
        as ``manage.py audit_verify`` makes it)."""
        context = {**(extra_context or {}), "chain": audit_chain_verify()}
        return super().changelist_view(request, extra_context=context)

    @admin.display(description=_("what"), ordering="action")
    def action_display(self, event: AuditEvent) -> str:
        return action_label(event.action)

    @admin.display(description=_("details"))
    def details_display(self, event: AuditEvent) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(event.details, indent=2, default=str))
