"""Session bookkeeping tied to log in (connected in ``ready``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.middleware import session_start
from accounts.models import User


def on_logged_in(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    # Django gives the session a new key on log in; the time limits count from here.
    if request is not None and hasattr(request, "session"):
        session_start(request)
