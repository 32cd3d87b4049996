"""The portal's own answer to a refused CSRF check (``CSRF_FAILURE_VIEW``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# Tells the page's script (static/js/portal.js) that a 403 is a stale form, not a refusal.
CSRF_FAILURE_HEADER = "X-CSRF-Failure"


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """403 in the portal's layout: the form is out of date (a log in or out in another tab
    rotated the token, or the page was open too long); reloading the page fixes it. ``reason``
    (Django's wording, for developers) is not shown."""
    response = render(request, "403_csrf.html", status=403)
    response[CSRF_FAILURE_HEADER] = "true"
    return response
