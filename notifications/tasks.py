from __future__ import annotations

from celery import shared_task

from notifications.services import email_notice_send, email_notice_sweep


@shared_task(name="notifications.send_email", ignore_result=True)
def notification_email_send(email_id: int) -> None:
    """One try of one outbox email; a failure schedules the next (``notifications.services``)."""
    email_notice_send(email_id=email_id)


@shared_task(name="notifications.sweep", ignore_result=True)
def notification_email_sweep() -> None:
    email_notice_sweep()
