"""Portal pages for a manufacturer's API keys: list, make (shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.access import PortalRequest, manufacturer_required
from api.errors import ApiError
from api.forms import ApiKeyForm
from api.selectors import api_key_list
from api.services import api_key_create, api_key_revoke


@require_http_methods(["GET", "POST"])
@manufacturer_required
def api_key_list_view(request: PortalRequest) -> HttpResponse:
    """API keys: the manufacturer's keys and a form to make one; a new key is shown once."""
    form = ApiKeyForm(request.POST or None)
    new_key = None
    status = 422 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            new_key = api_key_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
                form_key=form.cleaned_data["form_key"],
                request=request,
            )
        except ApiError as exc:
            status = exc.status if exc.code == "role_forbidden" else status
            form.add_error("expires_on" if exc.code == "expiry_past" else None, exc.message)
            if exc.code == "form_reused":
                form = ApiKeyForm.refused_as_replay(exc.message)
        else:
            form, status = ApiKeyForm(), 200
    response = render(
        request,
        "api/key_list.html",
        {"form": form, "keys": api_key_list(manufacturer=request.manufacturer), "new_key": new_key},
        status=status,
    )
    # The page may hold a key in clear: never cached anywhere.
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@manufacturer_required
def api_key_revoke_view(request: PortalRequest, key_id: int) -> HttpResponse:
    """Revoke one of the manufacturer's keys (another's is 404, before the method is looked at,
    so a GET tells a stranger nothing either)."""
    if not api_key_list(manufacturer=request.manufacturer).filter(pk=key_id).exists():
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        api_key = api_key_revoke(key_id=key_id, user=request.user, request=request)
    except ApiError as exc:
        if exc.code == "key_not_found":
            raise Http404 from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, _("API key %(name)s revoked.") % {"name": api_key.name})
    return redirect("api_keys:list")
