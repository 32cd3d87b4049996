"""Structured logs: one JSON object a line, through the standard library's logging.

Why the standard library (with python-json-logger's formatter) rather than structlog: every log
line here comes from ``logging`` already (Django, Celery, kombu, ours), the AuthKey redaction is
a ``logging`` filter, and the request id is a filter too (``refurb_portal.request_id``). A
formatter changes the output of all of them at once; structlog would add a second pipeline to
keep in line with the first.
"""

from __future__ import annotations

from types import TracebackType

from pythonjsonlogger.json import JsonFormatter

from audit.redaction import redact

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class RedactingJsonFormatter(JsonFormatter):
    """python-json-logger's formatter, with tracebacks redacted like the message.

    The redaction filter redacts ``exc_text``, but this formatter renders ``exc_info`` anew.
    """

    def formatException(self, ei: ExcInfo | tuple[None, None, None]) -> str:
        return redact(str(super().formatException(ei)))
