"""The relay: sends to the broker the token-file jobs that takes have committed.

A take only inserts its PENDING ``TokenFile`` row (the outbox) with ``enqueued_at`` empty; it
never talks to the broker (``settings.TOKEN_FILE_RELAY``). The row's trigger NOTIFYs
``RELAY_CHANNEL`` when the take commits; ``relay_forever`` LISTENs on it (and polls every
``TOKEN_FILE_RELAY_POLL_SECONDS`` in case a notification is lost with its connection) and calls
``token_file_relay_send``. Run it as ``manage.py token_file_relay``, one or more per deployment.

Each round first claims the rows (stamped as sent, in a transaction of its own, ``SKIP LOCKED``:
two relays never take one row) and sends after that commit, so a worker that gets a job at once
finds its row unlocked. A send that fails (broker down) clears the stamp of the rows not sent,
for the next round. The sweeper (``token_file_sweep``) stays the safety net for a relay that
died between its claim and its send: the stamp is its clock.

The same loop is the audit chain's single appender: each round also seals the events committed
since the last (``audit.services.audit_seal``), woken by the ``audit_seal`` NOTIFY of each
event's insert. Celery beat's ``audit-seal`` entry is the safety net when no relay runs.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.utils import InterfaceError
from django.utils import timezone

from audit.services import SEAL_BATCH, audit_seal
from refurb_portal.request_id import request_id_as
from tokens.models import RELAY_CHANNEL, TokenFile
from tokens.services import token_file_enqueue

logger = logging.getLogger(__name__)

BATCH = 200
# The audit insert trigger's channel (migration audit.0005).
AUDIT_SEAL_CHANNEL = "audit_seal"


@dataclass(frozen=True)
class RelayRound:
    sent: list[int]  # ids sent to the broker
    left: int  # rows claimed but not sent (the broker failed): unsent again


def token_file_relay_send(*, limit: int = BATCH) -> RelayRound:
    """Send up to ``limit`` unsent PENDING jobs, oldest first.

    Each is sent under the request id its take recorded. Stops at the first send that fails
    (the broker is down) and puts that row and the rest back as unsent.
    """
    with transaction.atomic():
        claimed = list(
            TokenFile.objects.select_for_update(skip_locked=True)
            .filter(status=TokenFile.Status.PENDING, enqueued_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "request_id")[:limit]
        )
        if not claimed:
            return RelayRound(sent=[], left=0)
        TokenFile.objects.filter(pk__in=[pk for pk, _ in claimed]).update(
            enqueued_at=timezone.now()
        )
    sent: list[int] = []
    for pk, request_id in claimed:
        with request_id_as(request_id):
            if not token_file_enqueue(token_file_id=pk, stamp=False):
                break
        sent.append(pk)
    unsent = [pk for pk, _ in claimed[len(sent) :]]
    if unsent:
        TokenFile.objects.filter(pk__in=unsent, status=TokenFile.Status.PENDING).update(
            enqueued_at=None
        )
    return RelayRound(sent=sent, left=len(unsent))


def relay_forever(
    *, stop: threading.Event | None = None, poll_seconds: float | None = None
) -> None:
    """Send jobs as their takes commit, and seal audit events as they commit, until ``stop``
    is set (never, without one).

    Woken by PostgreSQL's notification; without one it looks every ``poll_seconds`` (default
    ``settings.TOKEN_FILE_RELAY_POLL_SECONDS``). A lost database connection is opened again;
    a broker that is down is tried again after a poll's wait (not at once: putting the rows
    back as unsent notifies again).
    """
    stop = stop or threading.Event()
    wait = settings.TOKEN_FILE_RELAY_POLL_SECONDS if poll_seconds is None else poll_seconds
    listening = False
    while not stop.is_set():
        try:
            if not listening:
                listening = _listen()
            done = token_file_relay_send()
            sealed = audit_seal()
        except (OperationalError, InterfaceError):
            logger.warning("Relay lost its database connection; opening it again", exc_info=True)
            connection.close()
            listening = False
            stop.wait(wait)
            continue
        if done.sent:
            logger.info("Relay sent %s token file job(s)", len(done.sent))
        if done.left:
            stop.wait(wait)
        elif not done.sent and sealed < SEAL_BATCH:
            _await_notification(wait, listening)
    connection.close()


def _listen() -> bool:
    """LISTEN on this process's connection (PostgreSQL only; elsewhere the relay polls)."""
    if connection.vendor != "postgresql":
        return False
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute(f"LISTEN {RELAY_CHANNEL}; LISTEN {AUDIT_SEAL_CHANNEL}")
    return True


def _await_notification(seconds: float, listening: bool) -> None:
    if not listening:
        time.sleep(seconds)
        return
    # Django's connection is in autocommit here, so notifications arrive as they are sent. A
    # commit notifies on both channels, and a busy portal many times a round: one round answers
    # all the notifications already there, so they are read and dropped together.
    for _ in connection.connection.notifies(timeout=seconds, stop_after=1):
        pass
    for _ in connection.connection.notifies(timeout=0):
        pass
