from __future__ import annotations

from functools import cache

from django.http import HttpRequest

from notifications.selectors import notice_unread_count


def unread_notices(request: HttpRequest) -> dict[str, object]:
    """``unread_notice_count`` for the bell in the header: counted once, only if shown."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notice_count": cache(lambda: notice_unread_count(user=user))}
