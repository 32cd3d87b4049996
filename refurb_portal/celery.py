"""Celery application, configured from Django settings under the ``CELERY_`` namespace."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refurb_portal.settings.dev")

app = Celery("refurb_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Carries the request id from the web process into the job (Celery signals; see the module).
# Counts and times task runs for /metrics (Celery signals).
import refurb_portal.metrics  # noqa: E402
import refurb_portal.request_id  # noqa: E402, F401


@setup_logging.connect
def _logging_from_django(loglevel: object = None, **_: object) -> None:
    """Workers log through ``settings.LOGGING`` (JSON lines with the request id, AuthKeys
    redacted) instead of Celery's own format; ``--loglevel`` still sets the level."""
    import logging
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel if isinstance(loglevel, int) else str(loglevel))
