from __future__ import annotations

from django.contrib import admin

from notifications.models import EmailNotice
from refurb_portal.admin import ReadOnlyAdmin


@admin.register(EmailNotice)
class EmailNoticeAdmin(ReadOnlyAdmin[EmailNotice]):
    """The outbox of notification emails: what was sent, what is waiting, what failed."""

    list_display = ["occurred_at", "kind", "to_address", "status", "attempt_count", "last_error"]
    list_filter = ["status", "kind"]
    search_fields = ["to_address"]
    date_hierarchy = "occurred_at"
