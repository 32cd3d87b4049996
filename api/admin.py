from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import User
from api.errors import ApiError
from api.models import ApiKey
from api.services import api_key_revoke
from refurb_portal.admin import ReadOnlyAdmin


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin[ApiKey]):
    """Staff see every manufacturer's keys and revoke them; only ``api.services`` writes."""

    list_display = [
        "name",
        "prefix",
        "manufacturer",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["manufacturer"]
    search_fields = ["name", "prefix", "manufacturer__name"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected API keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        assert isinstance(request.user, User)
        done = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            try:
                api_key_revoke(key_id=api_key.pk, user=request.user, request=request)
            except ApiError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                done += 1
        self.message_user(
            request,
            ngettext("%(count)s API key revoked.", "%(count)s API keys revoked.", done)
            % {"count": done},
        )
