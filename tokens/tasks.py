"""Celery tasks: thin adapters that take an id and call a service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="tokens.token_file_generate")
def token_file_generate(token_file_id: int) -> None:
    from tokens.generation import token_file_generate as generate

    generate(token_file_id=token_file_id)
