"""Celery tasks: thin adapters that take an id and call a service."""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings

from tokens.errors import TokenFileError


def retry_countdown(attempt: int) -> int:
    """Seconds before attempt ``attempt + 1`` after an interrupted one: doubling from
    ``TOKEN_FILE_RETRY_BACKOFF_SECONDS``, capped at ``TOKEN_FILE_RESEND_AFTER_SECONDS`` (the
    sweeper would send the job again by then anyway)."""
    base = int(settings.TOKEN_FILE_RETRY_BACKOFF_SECONDS)
    return int(min(base * 2 ** max(attempt - 1, 0), settings.TOKEN_FILE_RESEND_AFTER_SECONDS))


@shared_task(bind=True, name="tokens.token_file_generate", max_retries=None)
def token_file_generate(self: Task[[int], None], token_file_id: int) -> None:
    """Make a delivery's tokens and file. Late-acked and idempotent: a copy delivered twice,
    or again after its worker died, finds the job done or in hand and returns.

    A job interrupted by a transient database error is sent again with backoff; the job row
    counts the attempts and gives up after ``TOKEN_FILE_MAX_ATTEMPTS`` (the row, not Celery,
    keeps the count, so that the sweeper's re-sends count too).
    """
    from tokens.generation import token_file_generate as generate

    try:
        generate(token_file_id=token_file_id)
    except TokenFileError as exc:
        if exc.code != "interrupted":
            raise
        raise self.retry(exc=exc, countdown=retry_countdown(int(exc.params["attempt"]))) from exc


@shared_task(name="tokens.token_file_sweep")
def token_file_sweep() -> int:
    """Run by Celery beat (``CELERY_BEAT_SCHEDULE``): send stuck token-file jobs again."""
    from tokens.services import token_file_sweep as sweep

    return len(sweep())


@shared_task(name="tokens.token_files_purge")
def token_files_purge() -> int:
    """Run by Celery beat: archive the token files past ``TOKEN_FILE_RETENTION_DAYS``."""
    from tokens.retention import token_files_purge as purge

    return len(purge())


@shared_task(name="tokens.token_file_restore")
def token_file_restore(token_file_id: int) -> None:
    """Make an archived token file's bytes again from its tokens (idempotent)."""
    from tokens.retention import token_file_restore as restore

    restore(token_file_id=token_file_id)
