"""AuthKeys never reach a log line, an error report or an audit entry."""

from __future__ import annotations

import io
import logging
import secrets
import string
import sys

import pytest
from django.db import IntegrityError
from django.test import RequestFactory

from accounts.models import User
from audit.redaction import (
    REDACTED,
    RedactingExceptionReporter,
    RedactSecretsFilter,
    redact,
)
from audit.services import audit_record

ALPHABET = string.ascii_letters + string.digits


def auth_key() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(32))


def test_redact_replaces_auth_keys_but_keeps_other_values() -> None:
    key = auth_key()
    sha256 = "a" * 64
    text = f"uuid=ab12cd34ef56ab12cd34, key={key}, sha256={sha256}, order=LIC-2026-0001"
    result = redact(text)
    assert key not in result
    assert f"key={REDACTED}" in result
    assert sha256 in result
    assert "ab12cd34ef56ab12cd34" in result
    assert "LIC-2026-0001" in result


@pytest.mark.django_db
def test_audit_details_and_object_text_are_redacted(acme_user: User) -> None:
    key = auth_key()
    event = audit_record(
        action="tokens.downloaded",
        actor=acme_user,
        details={"rows": [{"uuid": "u1", "auth_key": "short"}], "note": f"first {key}"},
    )
    event.refresh_from_db()
    stored = str(event.details)
    assert key not in stored
    assert "short" not in stored
    assert event.details["rows"][0] == {"uuid": "u1", "auth_key": REDACTED}


def test_log_lines_and_tracebacks_through_the_configured_handler_are_redacted() -> None:
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactSecretsFilter) for f in h.filters)
    )
    stream = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(stream)
    key, other = auth_key(), auth_key()
    try:
        logger = logging.getLogger("tokens.generation")
        logger.warning("generated %s for %s", key, "p0001")
        try:
            raise IntegrityError(f"duplicate key value: Key (auth_key)=({other}) already exists.")
        except IntegrityError:
            logger.exception("insert failed")
    finally:
        handler.setStream(previous)  # type: ignore[arg-type]
    output = stream.getvalue()
    assert "generated" in output
    assert "insert failed" in output
    assert "IntegrityError" in output
    assert key not in output
    assert other not in output


def test_error_reports_hide_auth_keys_in_messages_and_frame_variables() -> None:
    key, other = auth_key(), auth_key()
    request = RequestFactory().post("/purchase/", {"note": key})

    def make_tokens() -> None:
        row = {"uuid": "u1", "key": other}  # noqa: F841 - a frame variable in the report
        raise IntegrityError(f"Key (auth_key)=({key}) already exists.")

    try:
        make_tokens()
    except IntegrityError:
        reporter = RedactingExceptionReporter(request, *sys.exc_info())
    html = reporter.get_traceback_html()
    text = reporter.get_traceback_text()
    assert "already exists" in html
    assert "already exists" in text
    for report in (html, text):
        assert key not in report
        assert other not in report
