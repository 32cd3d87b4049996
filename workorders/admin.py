"""Staff side of work orders: the queue, and the work on one work order.

The work order itself is read-only here: staff reply, assign, change the status and attach the
tool through the forms under it, each of which calls a service, so the transition table and the
history, audit and emails apply to staff exactly as to the portal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.db.models.expressions import Combinable
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from django_stubs_ext import StrOrPromise

from accounts.models import User
from refurb_portal.admin import ReadOnlyAdmin
from workorders import files
from workorders.errors import WorkOrderError
from workorders.forms import (
    AssignForm,
    StaffReplyForm,
    StaffTransitionForm,
    ToolForm,
    staff_status_choices,
)
from workorders.models import (
    ToolDownload,
    WorkOrder,
    WorkOrderAttachment,
    WorkOrderMessage,
    WorkOrderTransition,
)
from workorders.services import (
    attachment_download_record,
    tool_download_record,
    work_order_assign,
    work_order_reply,
    work_order_tool_attach,
    work_order_transition,
)
from workorders.transitions import QUEUE_ORDER, Side


def _staff_status(status: str) -> str:
    """A status in staff's words: the model's labels speak to the manufacturer."""
    return str(WorkOrder.STAFF_STATUS_LABELS.get(status, status))


class StaffStatusFilter(admin.SimpleListFilter):
    """The queue by status, in staff's words."""

    title = _("status")
    parameter_name = "status__exact"  # the URL of the field filter it replaces

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(status, _staff_status(status)) for status in WorkOrder.Status.values]

    def queryset(self, request: HttpRequest, queryset: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
        return queryset.filter(status=self.value()) if self.value() else queryset


class ReadOnlyInline[M: Any](admin.TabularInline[M, WorkOrder]):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: WorkOrder | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MessageInline(ReadOnlyInline[WorkOrderMessage]):
    model = WorkOrderMessage
    fields = ("created_at", "author", "from_staff", "body")
    readonly_fields = fields
    verbose_name_plural = _("conversation (the description above comes first)")


class AttachmentInline(ReadOnlyInline[WorkOrderAttachment]):
    model = WorkOrderAttachment
    fields = ("download", "size_bytes", "uploaded_by", "uploaded_at", "message")
    readonly_fields = fields

    @admin.display(description=_("file"))
    def download(self, obj: WorkOrderAttachment) -> str:
        url = reverse("admin:workorders_workorder_attachment", args=[obj.work_order_id, obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.file_name)


class TransitionInline(ReadOnlyInline[WorkOrderTransition]):
    model = WorkOrderTransition
    fields = ("occurred_at", "staff_from_status", "staff_to_status", "actor", "by_staff")
    readonly_fields = fields
    verbose_name_plural = _("history")

    @admin.display(description=_("from"))
    def staff_from_status(self, obj: WorkOrderTransition) -> str:
        return _staff_status(obj.from_status) if obj.from_status else "—"

    @admin.display(description=_("to"))
    def staff_to_status(self, obj: WorkOrderTransition) -> str:
        return _staff_status(obj.to_status)


class ToolDownloadInline(ReadOnlyInline[ToolDownload]):
    model = ToolDownload
    fields = ("downloaded_at", "user", "ip_address")
    readonly_fields = fields


@admin.register(WorkOrder)
class WorkOrderAdmin(ReadOnlyAdmin[WorkOrder]):
    list_display = [
        "number",
        "queue_status",
        "type",
        "manufacturer",
        "order",
        "assignee",
        "created_at",
        "age",
        "in_status_for",
        "tool",
    ]
    list_filter = [
        StaffStatusFilter,
        "type",
        ("assignee", admin.RelatedOnlyFieldListFilter),
        "manufacturer",
        "created_at",
    ]
    search_fields = ["description", "contact", "manufacturer__name", "order__number"]
    list_select_related = ["manufacturer", "order", "assignee"]
    date_hierarchy = "created_at"
    actions = ["assign_to_me"]
    fieldsets = [
        (None, {"fields": ["number", "staff_status", "type", "manufacturer", "order", "assignee"]}),
        (_("Request"), {"fields": ["submitted_by", "created_at", "contact", "description"]}),
        (
            _("Refurbishment tool"),
            {"fields": ["tool_current", "tool_attached_at", "tool_attached_by"]},
        ),
    ]
    readonly_fields = [
        "number",
        "staff_status",
        "type",
        "manufacturer",
        "order",
        "assignee",
        "submitted_by",
        "created_at",
        "contact",
        "description",
        "tool_current",
        "tool_attached_at",
        "tool_attached_by",
    ]
    inlines = [MessageInline, AttachmentInline, TransitionInline, ToolDownloadInline]
    change_form_template = "admin/workorders/workorder/change_form.html"

    @admin.display(description=_("Number"), ordering="pk")
    def number(self, obj: WorkOrder) -> str:
        """``WO-000042``: the model's property, under a translated label (a property's own
        label would be ``Number``, untranslated)."""
        return obj.number

    # --- the queue ---------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkOrder]:
        rank = Case(
            *(When(status=status, then=Value(i)) for i, status in enumerate(QUEUE_ORDER)),
            output_field=IntegerField(),
        )
        # Annotated before ordering (the base method orders first, before any annotation).
        queryset = WorkOrder.objects.annotate(status_rank=rank)
        return queryset.order_by(*self.get_ordering(request))

    def get_ordering(self, request: HttpRequest) -> list[str | Combinable]:
        # What needs staff first, and within a status the oldest first.
        return ["status_rank", "created_at"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[WorkOrder], search_term: str
    ) -> tuple[QuerySet[WorkOrder], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        number = search_term.strip().upper().removeprefix("WO-")
        if number.isdigit():
            results = results | queryset.filter(pk=int(number))
        return results, may_have_duplicates

    @admin.display(description=_("status"), ordering="status_rank")
    def queue_status(self, obj: WorkOrder) -> str:
        return obj.get_staff_status_display()

    @admin.display(description=_("status"))
    def staff_status(self, obj: WorkOrder) -> str:
        return obj.get_staff_status_display()

    @admin.display(description=_("age"), ordering="created_at")
    def age(self, obj: WorkOrder) -> str:
        return timesince(obj.created_at)

    @admin.display(description=_("in this status for"), ordering="status_changed_at")
    def in_status_for(self, obj: WorkOrder) -> str:
        return timesince(obj.status_changed_at)

    @admin.display(description=_("tool"), boolean=True)
    def tool(self, obj: WorkOrder) -> bool:
        return obj.has_tool

    @admin.display(description=_("tool"))
    def tool_current(self, obj: WorkOrder) -> str:
        if obj.tool_link:
            return format_html('<a href="{0}" rel="noopener noreferrer">{0}</a>', obj.tool_link)
        if obj.tool_storage_name:
            url = reverse("admin:workorders_workorder_tool", args=[obj.pk])
            return format_html('<a href="{}">{}</a>', url, obj.tool_file_name)
        return "—"

    @admin.action(description=_("Assign the selected work orders to me"))
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[WorkOrder]) -> None:
        if not self._may_work(request):
            raise Http404
        user: User = request.user  # type: ignore[assignment]
        assigned = 0
        for work_order in queryset:
            try:
                work_order_assign(
                    work_order_id=work_order.pk, assignee=user, user=user, request=request
                )
            except WorkOrderError as exc:  # e.g. busy: say so and go on with the others
                self.message_user(request, f"{work_order.number}: {exc.message}", messages.ERROR)
            else:
                assigned += 1
        self.message_user(
            request,
            ngettext(
                "Assigned %(count)s work order to you.",
                "Assigned %(count)s work orders to you.",
                assigned,
            )
            % {"count": assigned},
        )

    # --- a read-only record (ReadOnlyAdmin); the work goes through the forms below it --------

    def _may_work(self, request: HttpRequest) -> bool:
        """Replying, assigning, status and tool need the model's change permission."""
        user = request.user
        return bool(
            user.is_active and user.is_staff and user.has_perm("workorders.change_workorder")
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        work_order = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if work_order is not None and self._may_work(request):
            context.update(
                may_work=True,
                reply_form=StaffReplyForm(),
                status_choices=[
                    (status, _staff_status(status))
                    for status, _label in staff_status_choices(work_order)
                ],
                assign_form=AssignForm(initial={"assignee": work_order.assignee_id}),
                tool_form=ToolForm(),
            )
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self) -> list[URLPattern]:
        def view(route: str, name: str, func: Any) -> URLPattern:
            return path(
                f"<int:pk>/{route}", self.admin_site.admin_view(func), name=f"{prefix}_{name}"
            )

        prefix = "workorders_workorder"
        return [
            view("reply/", "reply", require_POST(self.reply_view)),
            view("status/", "status", require_POST(self.status_view)),
            view("assign/", "assign", require_POST(self.assign_view)),
            view("attach-tool/", "attach_tool", require_POST(self.attach_tool_view)),
            view("tool/", "tool", require_GET(self.tool_download_view)),
            view(
                "attachments/<int:attachment_id>/",
                "attachment",
                require_GET(self.attachment_download_view),
            ),
            *super().get_urls(),
        ]

    def _work_order(self, request: HttpRequest, pk: int) -> WorkOrder:
        if not self._may_work(request):
            raise Http404
        return get_object_or_404(WorkOrder, pk=pk)

    @staticmethod
    def _staff(request: HttpRequest) -> User:
        return request.user  # type: ignore[return-value]

    def _act(
        self,
        request: HttpRequest,
        work_order: WorkOrder,
        form: forms.Form,
        act: Callable[[dict[str, Any]], StrOrPromise],
    ) -> HttpResponseRedirect:
        """Validate ``form``, call the service through ``act``, and go back to the work order
        with its success message, or with the form's or the service's error."""
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    self.message_user(request, str(error), messages.ERROR)
        else:
            try:
                done = act(form.cleaned_data)
            except WorkOrderError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(
            reverse("admin:workorders_workorder_change", args=[work_order.pk])
        )

    def reply_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        work_order = self._work_order(request, pk)

        def reply(data: dict[str, Any]) -> StrOrPromise:
            work_order_reply(
                work_order_id=work_order.pk,
                user=self._staff(request),
                side=Side.STAFF,
                body=data["body"],
                to_status=data["to_status"],
                reply_key=data["reply_key"],
                request=request,
            )
            return _("Your reply was sent.")

        return self._act(request, work_order, StaffReplyForm(request.POST), reply)

    def status_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        work_order = self._work_order(request, pk)

        def change(data: dict[str, Any]) -> StrOrPromise:
            transition = work_order_transition(
                work_order_id=work_order.pk,
                user=self._staff(request),
                side=Side.STAFF,
                to_status=data["to_status"],
                request=request,
            )
            return _("The status is now “%(status)s”.") % {
                "status": _staff_status(transition.to_status)
            }

        return self._act(request, work_order, StaffTransitionForm(request.POST), change)

    def assign_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        work_order = self._work_order(request, pk)

        def assign(data: dict[str, Any]) -> StrOrPromise:
            assignee = data["assignee"]
            work_order_assign(
                work_order_id=work_order.pk,
                assignee=assignee,
                user=self._staff(request),
                request=request,
            )
            if assignee is None:
                return _("Assigned to no one.")
            return _("Assigned to %(name)s.") % {"name": assignee.get_username()}

        return self._act(request, work_order, AssignForm(request.POST), assign)

    def attach_tool_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        work_order = self._work_order(request, pk)

        def attach(data: dict[str, Any]) -> StrOrPromise:
            work_order_tool_attach(
                work_order_id=work_order.pk,
                user=self._staff(request),
                tool_file=data["tool_file"],
                tool_link=data["tool_link"],
                tool_key=data["tool_key"],
                request=request,
            )
            return _("The refurbishment tool is attached; the manufacturer can download it.")

        return self._act(request, work_order, ToolForm(request.POST, request.FILES), attach)

    def tool_download_view(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        work_order = self._work_order(request, pk)
        if not work_order.tool_storage_name:
            raise Http404
        tool_download_record(work_order=work_order, user=self._staff(request), request=request)
        return files.file_response(
            storage_name=work_order.tool_storage_name,
            file_name=work_order.tool_file_name,
            kind="tool",
        )

    def attachment_download_view(
        self, request: HttpRequest, pk: int, attachment_id: int
    ) -> HttpResponseBase:
        work_order = self._work_order(request, pk)
        attachment = get_object_or_404(WorkOrderAttachment, pk=attachment_id, work_order=work_order)
        attachment_download_record(
            attachment=attachment, user=self._staff(request), request=request
        )
        return files.file_response(
            storage_name=attachment.storage_name, file_name=attachment.file_name, kind="attachment"
        )
