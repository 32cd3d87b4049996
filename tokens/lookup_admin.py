"""The staff side of the token lookup and the revocation list: two pages of the Token admin,
over every manufacturer's tokens, with the portal's forms, selectors, responses and audit."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from tokens.lookup_views import (
    lookup_bind,
    lookup_context,
    lookup_run,
    revocation_bind,
    revocation_list_response,
)


class TokenLookupAdminMixin:
    """Adds ``admin:tokens_token_lookup`` and ``admin:tokens_token_revocation_list`` (staff with
    the view permission on tokens); the change list links to both
    (``admin/tokens/token/change_list.html``, which Django finds by its name)."""

    admin_site: Any
    model: Any

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "lookup/",
                self.admin_site.admin_view(self.lookup_view),
                name="tokens_token_lookup",
            ),
            path(
                "revocation-list/",
                self.admin_site.admin_view(self.revocation_list_view),
                name="tokens_token_revocation_list",
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def _context(self, request: HttpRequest, title: Any, **extra: Any) -> dict[str, Any]:
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            **extra,
        }

    def lookup_view(self, request: HttpRequest) -> TemplateResponse:
        context = self._context(request, _("Token lookup"))
        form, histories, status = lookup_run(
            request, lookup_bind(request), manufacturer_id=None, channel="admin"
        )
        context.update(lookup_context(form, histories))
        return TemplateResponse(request, "admin/tokens/token_lookup.html", context, status=status)

    def revocation_list_view(self, request: HttpRequest) -> HttpResponseBase:
        context = self._context(request, _("Revocation list"))
        form = revocation_bind(request)
        if form.is_bound and form.is_valid():
            return revocation_list_response(request, form, manufacturer_id=None, channel="admin")
        context["form"] = form
        return TemplateResponse(
            request,
            "admin/tokens/revocation_list.html",
            context,
            status=400 if form.is_bound else 200,
        )
