"""Celery tasks: thin adapters that call a service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="audit.seal")
def audit_seal() -> int:
    """Run by Celery beat (``CELERY_BEAT_SCHEDULE``): seal the events the relay has not (the
    relay is down, or none runs), so none waits longer than a beat's period."""
    from audit.services import audit_seal_all

    return audit_seal_all()
