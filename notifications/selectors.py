"""Reads for notifications: a user's notices, unread count and choices."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from notifications.kinds import CHANNELS
from notifications.models import Notice, NotificationPreference


def notice_list(*, user: User) -> QuerySet[Notice]:
    """The user's own notices, newest first (no one sees another's)."""
    return Notice.objects.filter(user=user).order_by("-created_at", "-id")


def notice_unread_count(*, user: User) -> int:
    return Notice.objects.filter(user=user, read_at__isnull=True).count()


def notice_for_user(*, user: User, notice_id: int) -> Notice | None:
    return Notice.objects.filter(user=user, pk=notice_id).first()


def notification_choices(*, user_ids: list[int], kind: str) -> dict[int, dict[str, bool]]:
    """``{user_id: {"email": bool, "portal": bool}}`` for ``kind``; both on when not chosen."""
    chosen = {
        pref.user_id: {"email": pref.email, "portal": pref.portal}
        for pref in NotificationPreference.objects.filter(user_id__in=user_ids, kind=kind)
    }
    return {user_id: chosen.get(user_id, dict.fromkeys(CHANNELS, True)) for user_id in user_ids}


def notification_preferences(*, user: User) -> dict[str, dict[str, bool]]:
    """``{kind: {"email": bool, "portal": bool}}`` for the kinds the user has chosen."""
    return {
        pref.kind: {"email": pref.email, "portal": pref.portal}
        for pref in NotificationPreference.objects.filter(user=user)
    }
