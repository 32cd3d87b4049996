"""Portal pages for webhook endpoints: list and add (secret shown once), detail with every
message and attempt and a "Send again" button, enable, remove."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import PortalRequest, manufacturer_required
from webhooks.errors import WebhookError
from webhooks.forms import WebhookEndpointForm
from webhooks.models import WebhookEndpoint
from webhooks.selectors import (
    webhook_endpoint_for_manufacturer,
    webhook_endpoint_list,
    webhook_recent_messages,
)
from webhooks.services import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_enable,
    webhook_resend,
)


@require_http_methods(["GET", "POST"])
@manufacturer_required
def webhook_list_view(request: PortalRequest) -> HttpResponse:
    """Webhooks: the manufacturer's endpoints and a form to add one."""
    form = WebhookEndpointForm(request.POST or None)
    new_endpoint = None
    status = 422 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            new_endpoint = webhook_endpoint_create(
                user=request.user,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                form_key=form.cleaned_data["form_key"],
                request=request,
            )
        except WebhookError as exc:
            status = exc.status if exc.code == "role_forbidden" else status
            form.add_error(exc.field, exc.message)
            if exc.code == "form_reused":
                form = WebhookEndpointForm.refused_as_replay(exc.message)
        else:
            form, status = WebhookEndpointForm(), 200
    response = render(
        request,
        "webhooks/list.html",
        {
            "form": form,
            "endpoints": webhook_endpoint_list(manufacturer=request.manufacturer),
            "new_endpoint": new_endpoint,
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


def _own(request: PortalRequest, pk: int, *, action: bool = False) -> WebhookEndpoint:
    """The manufacturer's endpoint or 404; for an action, then 405 unless POST (a stranger's
    GET is 404 like anything else of another manufacturer)."""
    endpoint = webhook_endpoint_for_manufacturer(manufacturer=request.manufacturer, pk=pk)
    if endpoint is None:
        raise Http404
    if action and request.method != "POST":
        raise MethodNotAllowed
    return endpoint


class MethodNotAllowed(Exception):
    pass


def _post_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: PortalRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except MethodNotAllowed:
            return HttpResponseNotAllowed(["POST"])

    return wrapped


@require_GET
@manufacturer_required
def webhook_detail_view(request: PortalRequest, pk: int) -> HttpResponse:
    """One endpoint: its recent messages, each with every attempt."""
    endpoint = _own(request, pk)
    return render(
        request,
        "webhooks/detail.html",
        {"endpoint": endpoint, "messages_sent": webhook_recent_messages(endpoint=endpoint)},
    )


@require_http_methods(["GET", "POST"])
@manufacturer_required
@_post_only
def webhook_resend_view(request: PortalRequest, pk: int, message_id: int) -> HttpResponse:
    """Send again: one more try of a message, now."""
    endpoint = _own(request, pk, action=True)
    if not endpoint.messages.filter(pk=message_id).exists():
        raise Http404
    try:
        attempt = webhook_resend(message_id=message_id, user=request.user, request=request)
    except WebhookError as exc:
        messages.error(request, exc.message)
    else:
        if attempt is not None and attempt.succeeded:
            messages.success(request, _("Sent again: the endpoint accepted it."))
        else:
            messages.error(request, _("Sent again: the endpoint did not accept it."))
    return redirect("webhooks:detail", pk=endpoint.pk)


@require_http_methods(["GET", "POST"])
@manufacturer_required
@_post_only
def webhook_enable_view(request: PortalRequest, pk: int) -> HttpResponse:
    endpoint = _own(request, pk, action=True)
    try:
        webhook_endpoint_enable(endpoint_id=endpoint.pk, user=request.user, request=request)
    except WebhookError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Endpoint enabled again."))
    return redirect("webhooks:detail", pk=endpoint.pk)


@require_http_methods(["GET", "POST"])
@manufacturer_required
@_post_only
def webhook_delete_view(request: PortalRequest, pk: int) -> HttpResponse:
    endpoint = _own(request, pk, action=True)
    try:
        webhook_endpoint_delete(endpoint_id=endpoint.pk, user=request.user, request=request)
    except WebhookError as exc:
        messages.error(request, exc.message)
        return redirect("webhooks:detail", pk=endpoint.pk)
    messages.success(request, _("Endpoint %(url)s removed.") % {"url": endpoint.url})
    return redirect("webhooks:list")
