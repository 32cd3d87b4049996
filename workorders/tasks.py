"""Celery tasks: thin adapters that take an id and call a service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="workorders.work_order_notify")
def work_order_notify(kind: str, object_id: int, site_url: str) -> int:
    from workorders.notifications import notification_send

    return notification_send(kind=kind, object_id=object_id, site_url=site_url)
