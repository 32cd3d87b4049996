"""Writes for tokens and token files."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from deliveries.models import NewDelivery
from tokens.models import TokenFile

logger = logging.getLogger(__name__)


def token_file_schedule(*, delivery: NewDelivery) -> TokenFile:
    """Create the delivery's PENDING file job and send it to the broker after the commit.

    The row is the outbox: if the broker is down the send fails after the commit, the delivery
    stays recorded, and the sweeper sends the job again once the broker is back.
    """
    token_file = TokenFile.objects.create(delivery=delivery, total=delivery.quantity)
    transaction.on_commit(lambda: token_file_enqueue(token_file_id=token_file.pk))
    return token_file


def token_file_enqueue(*, token_file_id: int) -> bool:
    """Send the job to the broker; False (and a log line) when the broker cannot be reached."""
    from tokens.tasks import token_file_generate

    try:
        token_file_generate.delay(token_file_id)
    except BrokerError:
        logger.warning("Broker unreachable; token file %s left for the sweeper", token_file_id)
        return False
    TokenFile.objects.filter(pk=token_file_id).update(enqueued_at=timezone.now())
    return True
