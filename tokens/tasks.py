"""Celery tasks: thin adapters that take an id and call a service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="tokens.token_file_generate")
def token_file_generate(token_file_id: int) -> None:
    """Make a delivery's tokens and file. Late-acked and idempotent: a copy delivered twice,
    or again after its worker died, finds the job done or in hand and returns."""
    from tokens.generation import token_file_generate as generate

    generate(token_file_id=token_file_id)


@shared_task(name="tokens.token_file_sweep")
def token_file_sweep() -> int:
    """Run by Celery beat (``CELERY_BEAT_SCHEDULE``): send stuck token-file jobs again."""
    from tokens.services import token_file_sweep as sweep

    return len(sweep())
