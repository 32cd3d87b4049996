"""Session bookkeeping tied to log in (connected in ``ready``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.login_throttle import login_failure_count
from accounts.middleware import session_start
from accounts.models import User


def on_logged_in(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    # Django gives the session a new key on log in; the time limits count from here.
    if request is not None and hasattr(request, "session"):
        session_start(request)


def on_login_failed(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    # Counted per address, whatever the user name (accounts.login_throttle).
    if request is not None:
        login_failure_count(request=request)
