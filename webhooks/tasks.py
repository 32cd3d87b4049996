from __future__ import annotations

from celery import shared_task

from webhooks.services import webhook_attempt, webhook_sweep


@shared_task(name="webhooks.send", ignore_result=True)
def webhook_send(message_id: int) -> None:
    """One try of one message; a failure schedules the next (``webhooks.services``)."""
    webhook_attempt(message_id=message_id)


@shared_task(name="webhooks.sweep", ignore_result=True)
def webhook_sweep_task() -> None:
    webhook_sweep()
