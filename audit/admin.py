from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from audit.actions import ACTION_LABELS, action_label
from audit.models import AuditEvent
from audit.selectors import ChainState, audit_chain_check
from audit.sentences import Viewer, sentences_attach, sentences_render
from refurb_portal.admin import ReadOnlyAdmin


class ActionFilter(admin.SimpleListFilter):
    """The events' actions by their labels (``audit.actions``), not their codes."""

    title = _("what")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return sorted(
            ((code, str(label)) for code, label in ACTION_LABELS.items()), key=lambda p: p[1]
        )

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent]
    ) -> QuerySet[AuditEvent]:
        return queryset.filter(action=self.value()) if self.value() else queryset


def overdue_text(state: ChainState) -> str:
    """The message of a chain whose sealed events are intact but some wait too long."""
    return str(
        ngettext(
            "Audit chain not sealed in time: %(count)s event has waited more than %(seconds)s "
            "seconds to be sealed (is the relay or Celery beat running?).",
            "Audit chain not sealed in time: %(count)s events have waited more than %(seconds)s "
            "seconds to be sealed (is the relay or Celery beat running?).",
            state.overdue,
        )
        % {"count": state.overdue, "seconds": settings.AUDIT_SEAL_MAX_DELAY}
    )


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin[AuditEvent]):
    """Staff search the trail; nobody adds, changes or deletes (the database refuses too)."""

    list_display = [
        "occurred_at",
        "actor_username",
        "manufacturer",
        "action_display",
        "sentence_display",
        "ip_address",
    ]
    list_filter = [ActionFilter, "manufacturer", "occurred_at"]
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
        "actor_username",
        "actor",
        "manufacturer",
        "action_display",
        "sentence_display",
        "object_type",
        "object_id",
        "object_repr",
        "ip_address",
        "request_id",
        "chain_position_display",
        "hash",
        "details_display",
    ]
    fields = readonly_fields  # type: ignore[assignment]

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        """The page's events with their sentences, all read at once (no query per row)."""
        changelist = super().get_changelist_instance(request)
        changelist.result_list = list(changelist.result_list)
        sentences_attach(changelist.result_list, viewer=Viewer.ADMIN)
        return changelist

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The staff's Activity: above the list, whether the hash chain is intact. Each load
        reads only the events added since the last intact check (``audit_chain_check``); the
        button under it walks the whole chain, as ``manage.py audit_verify`` does."""
        chain = audit_chain_check()
        overdue = overdue_text(chain) if chain.overdue else ""
        context = {**(extra_context or {}), "chain": chain, "chain_overdue": overdue}
        return super().changelist_view(request, extra_context=context)

    def get_urls(self) -> list[URLPattern]:
        verify = self.admin_site.admin_view(require_POST(self.verify_view))
        return [path("verify/", verify, name="audit_auditevent_verify"), *super().get_urls()]

    def verify_view(self, request: HttpRequest) -> HttpResponse:
        """Walk the whole chain now and say what it found."""
        if not self.has_view_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        state = audit_chain_check(full=True)
        if state.intact:
            self.message_user(
                request,
                ngettext(
                    "The whole audit chain was checked: %(count)s event, intact.",
                    "The whole audit chain was checked: %(count)s events, intact.",
                    state.checked,
                )
                % {"count": state.checked},
                messages.SUCCESS,
            )
        elif state.broken_at is not None:
            self.message_user(
                request,
                _("Audit chain broken at event %(position)s: %(reason)s.")
                % {"position": state.broken_at, "reason": state.reason_text},
                messages.ERROR,
            )
        elif state.kept:
            self.message_user(request, overdue_text(state), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:audit_auditevent_changelist"))

    @admin.display(description=_("what"), ordering="action")
    def action_display(self, event: AuditEvent) -> str:
        return action_label(event.action)

    @admin.display(description=_("what happened"))
    def sentence_display(self, event: AuditEvent) -> SafeString:
        rendered = getattr(event, "sentence", None)
        if rendered is None:  # the change page: one event
            rendered = sentences_render([event], viewer=Viewer.ADMIN)[0]
        return rendered.html

    @admin.display(description=_("chain position"))
    def chain_position_display(self, event: AuditEvent) -> str:
        if event.chain_position is None:
            return str(_("not sealed yet"))
        return str(event.chain_position)

    @admin.display(description=_("details as recorded"))
    def details_display(self, event: AuditEvent) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(event.details, indent=2, default=str))
