"""Staff admin for token files, tokens and downloads. All read-only: tokens and files are made
only by the job; staff can retry a failed job and download a file, both recorded and audited."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from refurb_portal.admin import ReadOnlyAdmin
from tokens.errors import TokenFileError
from tokens.lookup_admin import TokenLookupAdminMixin
from tokens.models import Token, TokenDownload, TokenFile
from tokens.services import token_file_retry
from tokens.views import token_file_response


@admin.register(TokenFile)
class TokenFileAdmin(ReadOnlyAdmin[TokenFile]):
    list_display = [
        "__str__",
        "manufacturer",
        "status",
        "progress",
        "attempts",
        "created_at",
        "finished_at",
        "download_link",
    ]
    list_filter = ["status", "created_at", "delivery__order__manufacturer"]
    search_fields = ["delivery__order__number", "sha256"]
    list_select_related = ["delivery__order__manufacturer"]
    date_hierarchy = "created_at"
    actions = ["retry"]
    fields = (
        "delivery",
        "status",
        "error",
        "total",
        "done",
        "attempts",
        "created_at",
        "enqueued_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
        "purged_at",
        "row_count",
        "size_bytes",
        "sha256",
        "storage_name",
        "download_link",
        "workbook_list",
    )
    readonly_fields = fields

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:token_file_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="tokens_tokenfile_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, token_file_id: int) -> HttpResponseBase:
        token_file = get_object_or_404(
            TokenFile.objects.select_related("delivery__order"), pk=token_file_id
        )
        if not self.has_view_permission(request, token_file):
            raise PermissionDenied
        return token_file_response(request, token_file, channel=TokenDownload.Channel.ADMIN)

    @admin.display(description=_("manufacturer"), ordering="delivery__order__manufacturer")
    def manufacturer(self, obj: TokenFile) -> str:
        return str(obj.order.manufacturer)

    @admin.display(description=_("progress"))
    def progress(self, obj: TokenFile) -> str:
        return f"{obj.done:,} / {obj.total:,}"

    @admin.display(description=_("download"))
    def download_link(self, obj: TokenFile) -> str:
        if obj.status != TokenFile.Status.READY:
            return "—"
        url = reverse("admin:tokens_tokenfile_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download"))

    @admin.display(description=_("Excel (.xlsx) parts"))
    def workbook_list(self, obj: TokenFile) -> str:
        workbooks = list(obj.workbooks.all())
        if not workbooks:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            "{} · {} · {}",
            ((w.file_name, filesizeformat(w.size_bytes), w.sha256) for w in workbooks),
        )

    def has_retry_permission(self, request: HttpRequest) -> bool:
        # The job row is read-only in forms; retrying is the one change staff may make to it.
        return request.user.has_perm("tokens.change_tokenfile")

    @admin.action(description=_("Retry the selected failed token files"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[TokenFile]) -> None:
        retried = refused = 0
        for token_file in queryset:
            try:
                token_file_retry(
                    token_file_id=token_file.pk,
                    user=request.user,  # type: ignore[arg-type]
                    request=request,
                )
            except TokenFileError:
                refused += 1
            else:
                retried += 1
        if retried:
            self.message_user(
                request,
                ngettext(
                    "%(count)s token file sent again.", "%(count)s token files sent again.", retried
                )
                % {"count": retried},
            )
        if refused:
            self.message_user(
                request,
                ngettext(
                    "%(count)s token file was not failed and was left as it is.",
                    "%(count)s token files were not failed and were left as they are.",
                    refused,
                )
                % {"count": refused},
                messages.WARNING,
            )


@admin.register(Token)
class TokenAdmin(TokenLookupAdminMixin, ReadOnlyAdmin[Token]):
    """Tokens are looked up by exact UUID; the AuthKey is never listed and shown only masked."""

    list_display = ["uuid", "delivery", "serial", "product", "status"]
    list_select_related = ["delivery__order", "product"]
    list_filter = ["status"]
    search_fields = ["=uuid"]
    fields = ("delivery", "product", "serial", "uuid", "auth_key_masked", "status")
    readonly_fields = fields
    show_full_result_count = False
    ordering = ["-id"]

    @admin.display(description=_("AuthKey"))
    def auth_key_masked(self, obj: Token) -> str:
        return obj.auth_key_masked


@admin.register(TokenDownload)
class TokenDownloadAdmin(ReadOnlyAdmin[TokenDownload]):
    list_display = [
        "token_file",
        "user",
        "downloaded_at",
        "ip_address",
        "channel",
        "file_format",
        "in_archive",
    ]
    list_filter = ["channel", "file_format", "in_archive", "downloaded_at"]
    search_fields = ["token_file__delivery__order__number", "user__username"]
    list_select_related = ["token_file__delivery__order", "user"]
    date_hierarchy = "downloaded_at"
