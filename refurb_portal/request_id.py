"""One id per request: in every log line it causes, in the Celery jobs it sends, in its audit
events.

- ``RequestIdMiddleware`` takes the id from the ``X-Request-ID`` header a proxy sets (when it is a
  short token of safe characters) or makes one, keeps it in a context variable for the request,
  and returns it in the response's ``X-Request-ID``.
- ``RequestIdLogFilter`` (settings.LOGGING) puts it on every log record as ``request_id``.
- Celery: a task sent while an id is set carries it in its message headers
  (``before_task_publish``); the worker sets it for the task's run (``task_prerun``), so the job's
  log lines and its audit events name the request that caused them.
- ``audit.services.audit_record`` stores ``current_request_id()`` with each event.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
CELERY_HEADER = "refurb_request_id"
# What a proxy's id may be: anything else (too long, odd bytes) is replaced by our own.
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

_current: ContextVar[str] = ContextVar("request_id", default="")


def current_request_id() -> str:
    """The id of the request or job running in this context, or "" outside of both."""
    return _current.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def request_id_as(request_id: str) -> Iterator[None]:
    """Run the block as part of request ``request_id`` (the relay sends a take's job under the
    id the take recorded, so the job's log lines and events name that request)."""
    token = _current.set(request_id)
    try:
        yield
    finally:
        _current.reset(token)


class RequestIdMiddleware:
    """Sets the request id for the request (see the module); first in ``MIDDLEWARE``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get(HEADER, "")
        request_id = offered if _VALID.match(offered) else new_request_id()
        token = _current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` ("" outside a request or job) to every record; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


@before_task_publish.connect
def _send_request_id(headers: dict[str, Any] | None = None, **_: object) -> None:
    request_id = current_request_id()
    if headers is not None and request_id:
        headers[CELERY_HEADER] = request_id


@task_prerun.connect
def _receive_request_id(task: Any = None, **_: object) -> None:
    request = getattr(task, "request", None)
    sent = getattr(request, CELERY_HEADER, None) or (getattr(request, "headers", None) or {}).get(
        CELERY_HEADER
    )
    # A job that no request sent (beat, the sweeper) gets an id of its own, for its log lines.
    _current.set(str(sent) if sent else f"task-{new_request_id()}")


@task_postrun.connect
def _forget_request_id(**_: object) -> None:
    _current.set("")
