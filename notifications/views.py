"""The Settings page (time zone, notifications), the time zone the browser reports on log
in, and the Notifications page with its read marks. For every logged-in user, staff too: each
sees only their own notices (another's is 404)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import AuthenticatedRequest
from accounts.time_zones import effective_time_zone, user_time_zone_set
from notifications.forms import SettingsForm
from notifications.selectors import notice_list, notification_preferences
from notifications.services import (
    notice_mark_read,
    notices_mark_all_read,
    notification_preferences_set,
)
from refurb_portal.pages import paginate, render_page

NOTICES_PER_PAGE = 25


@require_http_methods(["GET", "POST"])
def settings_view(request: AuthenticatedRequest) -> HttpResponse:
    """Settings: the user's time zone, the language of their emails and which notices they get."""
    user = request.user
    initial = {
        "time_zone": effective_time_zone(user),
        "language": user.language or get_language() or settings.LANGUAGE_CODE,
    }
    form = SettingsForm(
        request.POST or None,
        initial=initial,
        user=user,
        preferences=notification_preferences(user=user),
    )
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["time_zone"] != user.time_zone:
            user_time_zone_set(user=user, time_zone=form.cleaned_data["time_zone"], request=request)
        notification_preferences_set(
            user=user,
            choices=form.choices(),
            language=form.cleaned_data["language"],
            request=request,
        )
        messages.success(request, _("Your settings are saved."))
        return redirect("notifications:settings")
    return render(request, "notifications/settings.html", {"form": form})


@require_POST
def time_zone_detect_view(request: AuthenticatedRequest) -> HttpResponse:
    """The zone the browser reports once after log in; kept only while the user has none."""
    user_time_zone_set(
        user=request.user,
        time_zone=request.POST.get("time_zone", "")[:64],
        detected=True,
        request=request,
    )
    return HttpResponse(status=204)


@require_GET
def notice_list_view(request: AuthenticatedRequest) -> HttpResponse:
    """Notifications: the user's notices, newest first, unread ones marked."""
    context = paginate(request, notice_list(user=request.user), per_page=NOTICES_PER_PAGE)
    return render_page(request, "notifications/list.html", context)


def notice_read_view(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Mark one notice read (POST), then open what it tells of, or go back to the list. Another
    user's notice is 404 before the method is looked at, so its existence is not revealed."""
    if request.method != "POST":
        if notice_list(user=request.user).filter(pk=pk).exists():
            return HttpResponseNotAllowed(["POST"])
        raise Http404
    notice = notice_mark_read(user=request.user, notice_id=pk)
    if notice is None:
        raise Http404
    if "open" in request.POST and url_has_allowed_host_and_scheme(notice.link, allowed_hosts=None):
        return redirect(notice.link or "notifications:list")
    return redirect("notifications:list")


@require_POST
def notices_read_all_view(request: AuthenticatedRequest) -> HttpResponse:
    count = notices_mark_all_read(user=request.user)
    if count:
        messages.success(request, _("All notifications are marked read."))
    return redirect("notifications:list")
