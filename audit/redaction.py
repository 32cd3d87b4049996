"""Keeping secrets out of logs, error reports and the audit trail.

A token's AuthKey is a 32-character secret; it belongs in the token file and nowhere else. Any
run of exactly 32 letters, digits, ``-`` or ``_`` (the alphabets a key can be drawn from) is
replaced wherever text leaves the process: log lines and their tracebacks, the exception
reports Django renders or mails, and the details of audit events. Values stored under a name
that says "secret" are masked whatever they look like.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

REDACTED = "[redacted]"

# Bounded on both sides so that longer values (64-character hashes, CSRF tokens) are not cut.
SECRET_VALUE_RE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])")
SECRET_NAME_RE = re.compile(
    r"auth_?key|authkey|password|passwd|secret|api_?key|otp|token_value|recovery|signature",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with every AuthKey-shaped value replaced."""
    return SECRET_VALUE_RE.sub(REDACTED, text)


def redact_value(value: Any, name: str = "") -> Any:
    """A copy of a JSON-like value with secret-named entries masked and strings redacted."""
    if name and SECRET_NAME_RE.search(name):
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: redact_value(item, str(key)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


class RedactSecretsFilter(logging.Filter):
    """A handler filter: renders the record once, redacted, traceback included."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class _Redacted:
    """Shows a frame variable by its redacted ``repr`` in an exception report."""

    def __init__(self, value: Any) -> None:
        self._repr = redact(repr(value))

    def __repr__(self) -> str:
        return self._repr


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter (settings, ``sensitive_variables``, ``sensitive_post_parameters``), on
    always, even with DEBUG, and with every remaining frame variable redacted."""

    def is_active(self, request: HttpRequest | None) -> bool:
        return True

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        return [
            (name, _Redacted(value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class RedactingExceptionReporter(ExceptionReporter):
    """Error pages and error mails: the exception's message (an IntegrityError's detail names
    the duplicate value) is redacted too, in the HTML and in the text version."""

    # Replacing runs of letters and digits with "[redacted]" cannot make HTML unsafe.
    def get_traceback_html(self) -> SafeString:
        return mark_safe(redact(super().get_traceback_html()))  # noqa: S308

    def get_traceback_text(self) -> SafeString:
        return mark_safe(redact(super().get_traceback_text()))  # noqa: S308
