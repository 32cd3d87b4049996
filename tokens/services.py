"""Writes for tokens and token files. The job itself (tokens and the CSV) is in ``generation``."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from accounts.access import role_require
from accounts.models import User
from audit.services import audit_record, client_ip
from orders.errors import OrderError
from refurb_portal.request_id import current_request_id
from tokens.errors import TokenFileError
from tokens.models import FileFormat, Token, TokenDownload, TokenFile

if TYPE_CHECKING:
    # Typing only: tokens sits below deliveries and reaches it only through its foreign key.
    from deliveries.models import NewDelivery
    from orders.models import OriginalDelivery

logger = logging.getLogger(__name__)


def token_file_schedule(
    *,
    delivery: NewDelivery | None = None,
    original_delivery: OriginalDelivery | None = None,
    targeted: bool = False,
) -> TokenFile:
    """Create the PENDING file job of a new delivery, or of an original delivery (its original
    tokens), and send it to the broker after the commit. ``targeted``: a new delivery whose
    tokens replace listed old ones (its ``TokenReplacement`` rows are written in the same
    transaction).

    The row is the outbox. With ``settings.TOKEN_FILE_RELAY`` (any deployment with a broker) the
    take sends nothing: the relay (``tokens.relay``), woken by the row's NOTIFY at the commit,
    sends it, so neither the broker's latency nor its absence reaches the request. Without it
    (``make run``: no broker, eager tasks) the job is run after the commit, as a broker would.
    Either way the sweeper sends again whatever was lost.
    """
    source = delivery if delivery is not None else original_delivery
    if source is None or (delivery is not None and original_delivery is not None):
        raise ValueError("a token file is of one delivery, new or original")
    token_file = TokenFile.objects.create(
        delivery=delivery,
        original_delivery=original_delivery,
        targeted=targeted,
        total=source.quantity,
        **token_file_outbox(),
    )
    token_file_send_after_commit(token_file_id=token_file.pk)
    return token_file


def token_file_outbox() -> dict[str, Any]:
    """The outbox columns of a new PENDING job row (``token_file_schedule``, and the take's own
    statement): with ``settings.TOKEN_FILE_RELAY``, unsent (``enqueued_at`` empty, so its NOTIFY
    wakes the relay) with the request id the relay sends it under; without, stamped as sent in
    the INSERT rather than by an UPDATE after the send (the sweeper's clock is the same either
    way: it falls back to ``created_at``; a failed send clears the stamp)."""
    if settings.TOKEN_FILE_RELAY:
        return {"enqueued_at": None, "request_id": current_request_id()}
    return {"enqueued_at": timezone.now(), "request_id": ""}


def token_file_send_after_commit(*, token_file_id: int) -> None:
    """Without the relay (``make run``: no broker, eager tasks), send the job once the current
    transaction commits, as a broker would run it; with the relay, nothing (it sends the row).
    robust: the delivery is committed by then; whatever goes wrong sending (or, in make run,
    running) the job must not turn it into an error page. The sweeper covers a lost send."""
    if not settings.TOKEN_FILE_RELAY:
        transaction.on_commit(partial(_enqueue_new, token_file_id), robust=True)


def original_tokens_schedule(*, delivery: OriginalDelivery, **_: object) -> None:
    """An original delivery was recorded (``orders.services.original_delivery_record``, in its
    transaction): its tokens and files are made by the same job as a new delivery's."""
    token_file_schedule(original_delivery=delivery)


def original_tokens_revoke(*, delivery: OriginalDelivery, **_: object) -> None:
    """An original delivery is being reversed (``orders.services.original_delivery_reverse``,
    under the order's row lock and its writer setting): refuse (``OrderError``) when a token
    of it was replaced or its file is being made; otherwise revoke its tokens (retired now)
    and void its file, so nothing of it is served again."""
    token_file = TokenFile.objects.select_for_update().filter(original_delivery=delivery).first()
    if token_file is None:
        return  # recorded before original tokens existed
    replaced = Token.objects.filter(
        original_delivery=delivery, status=Token.Status.REPLACED
    ).count()
    if replaced:
        raise OrderError("reversal_tokens_replaced", replaced=replaced)
    if token_file.status == TokenFile.Status.GENERATING:
        raise OrderError("reversal_generating")
    Token.objects.filter(original_delivery=delivery).update(
        status=Token.Status.REVOKED, retired_at=timezone.now()
    )
    TokenFile.objects.filter(pk=token_file.pk).update(status=TokenFile.Status.VOIDED)


def _enqueue_new(token_file_id: int) -> None:
    if not token_file_enqueue(token_file_id=token_file_id, stamp=False):
        TokenFile.objects.filter(pk=token_file_id).update(enqueued_at=None)


def token_file_enqueue(*, token_file_id: int, stamp: bool = True) -> bool:
    """Send the job to the broker; False (and a log line) when the broker cannot be reached.

    ``stamp=False`` when the caller already set ``enqueued_at`` in its transaction."""
    from tokens.tasks import token_file_generate

    try:
        token_file_generate.delay(token_file_id)
    except BrokerError:
        logger.warning("Broker unreachable; token file %s left for the sweeper", token_file_id)
        return False
    except TokenFileError as exc:
        # Only with eager tasks (make run) does the job run inside delay(); it has already
        # recorded the failure on its row, where staff see it and can retry.
        logger.warning("Token file %s failed: %s", token_file_id, exc.code)
    if stamp:
        TokenFile.objects.filter(pk=token_file_id).update(enqueued_at=timezone.now())
    return True


def _enqueue_all(token_file_ids: list[int]) -> None:
    # The sweep stamped these rows in its own transaction; stamping again would add nothing.
    for token_file_id in token_file_ids:
        token_file_enqueue(token_file_id=token_file_id, stamp=False)


def token_file_sweep(*, limit: int = 500) -> list[int]:
    """Send again the jobs that should be running and are not; return their ids.

    Due: PENDING jobs last sent (or created) over ``TOKEN_FILE_RESEND_AFTER_SECONDS`` ago (the
    broker was down, or lost the message), and GENERATING jobs whose heartbeat is older than
    ``TOKEN_FILE_STALE_AFTER_SECONDS`` (their worker died) and that were not sent again just now.
    Rows locked by another session (a job claiming them, another sweep) are skipped, and each
    row taken is stamped as sent in the same transaction, so two sweeps never send one job twice.
    A job sent to a worker that is in fact still making it does no harm: the job is idempotent.
    """
    now = timezone.now()
    resend_before = now - timedelta(seconds=settings.TOKEN_FILE_RESEND_AFTER_SECONDS)
    stale_before = now - timedelta(seconds=settings.TOKEN_FILE_STALE_AFTER_SECONDS)
    due = Q(status=TokenFile.Status.PENDING) | (
        Q(status=TokenFile.Status.GENERATING)
        & (Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True))
    )
    with transaction.atomic():
        ids = list(
            TokenFile.objects.select_for_update(skip_locked=True)
            .annotate(last_sent=Coalesce("enqueued_at", "created_at"))
            .filter(due, last_sent__lt=resend_before)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            TokenFile.objects.filter(pk__in=ids).update(enqueued_at=now)
            transaction.on_commit(partial(_enqueue_all, ids))
    if ids:
        logger.info("Sweeper sent %s token file job(s) again: %s", len(ids), ids)
    return ids


def token_file_retry(
    *, token_file_id: int, user: User, request: HttpRequest | None = None
) -> TokenFile:
    """Put a FAILED job back to PENDING and send it (the admin's "Retry" action).

    The job keeps any tokens the delivery already holds, and the (delivery, serial) unique
    constraint stops a second set, so a retry can never issue a delivery's tokens twice.
    """
    with transaction.atomic():
        token_file = (
            TokenFile.objects.select_for_update(of=("self",))
            .select_related("delivery__order__manufacturer", "original_delivery__order")
            .get(pk=token_file_id)
        )
        if token_file.status != TokenFile.Status.FAILED:
            raise TokenFileError("not_retryable")
        previous_error = token_file.error
        token_file.status = TokenFile.Status.PENDING
        token_file.attempts = 0
        token_file.done = 0
        token_file.error = ""
        token_file.enqueued_at = None
        token_file.started_at = None
        token_file.heartbeat_at = None
        token_file.finished_at = None
        token_file.save()
        audit_record(
            action="tokens.file_retried",
            actor=user,
            obj=token_file,
            manufacturer=token_file.order.manufacturer,
            request=request,
            details={"previous_error": previous_error[:500]},
        )
        transaction.on_commit(partial(token_file_enqueue, token_file_id=token_file.pk))
    return token_file


def token_file_download_record(
    *,
    token_file: TokenFile,
    user: User,
    request: HttpRequest | None = None,
    channel: str = TokenDownload.Channel.PORTAL,
    file_format: str = FileFormat.CSV,
    file_names: list[str] | None = None,
) -> TokenDownload:
    """Record one download of a READY file, with its audit event, in one transaction.

    ``file_format`` is ``csv`` or ``xlsx``; ``file_names`` the names served (an .xlsx may be
    several parts), for the audit trail. The file's row is locked and its status read again
    first, so a download and a void of its delivery (``deliveries.services.new_delivery_void``,
    which locks the same row) serialize: a file voided meanwhile raises
    ``TokenFileError("voided")`` and nothing is recorded.
    """
    role_require(user=user, action="tokens.download", error=TokenFileError)
    with transaction.atomic():
        status, purged_at = (
            TokenFile.objects.select_for_update()
            .values_list("status", "purged_at")
            .get(pk=token_file.pk)
        )
        if status != TokenFile.Status.READY:
            raise TokenFileError("voided" if status == TokenFile.Status.VOIDED else "not_ready")
        if purged_at is not None:
            raise TokenFileError("archived")  # archived meanwhile (tokens.retention)
        return _record_download(
            token_file=token_file,
            user=user,
            request=request,
            channel=channel,
            file_format=file_format,
            file_names=file_names or [token_file.file_name],
            archive=None,
        )


def order_token_files_download_record(
    *,
    files: list[tuple[TokenFile, list[str]]],
    user: User,
    request: HttpRequest | None,
    file_format: str,
    archive: str,
) -> list[TokenDownload]:
    """Record the download of an order's ZIP ``archive``: one download, and one audit event,
    per token file in it (``files``: each READY file with the names it put in the ZIP), in one
    transaction, exactly as if each had been downloaded alone.

    The files' rows are locked and their status read again first, as for a single download: a
    file whose delivery was voided (or that was archived) meanwhile is left out (no download
    recorded), and the caller puts in the ZIP only the files of the downloads returned.
    """
    role_require(user=user, action="tokens.download", error=TokenFileError)
    with transaction.atomic():
        still_ready = set(
            TokenFile.objects.select_for_update()
            .filter(pk__in=[token_file.pk for token_file, _ in files])
            .filter(status=TokenFile.Status.READY, purged_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        return [
            _record_download(
                token_file=token_file,
                user=user,
                request=request,
                channel=TokenDownload.Channel.PORTAL,
                file_format=file_format,
                file_names=names,
                archive=archive,
            )
            for token_file, names in files
            if token_file.pk in still_ready
        ]


def _record_download(
    *,
    token_file: TokenFile,
    user: User,
    request: HttpRequest | None,
    channel: str,
    file_format: str,
    file_names: list[str],
    archive: str | None,
) -> TokenDownload:
    order = token_file.order
    download = TokenDownload.objects.create(
        token_file=token_file,
        user=user,
        ip_address=client_ip(request),
        channel=channel,
        file_format=file_format,
        in_archive=archive is not None,
    )
    details: dict[str, object] = {
        "order": order.number,
        "delivery": token_file.delivery_label,
        "rows": token_file.row_count,
        "sha256": token_file.sha256,
        "channel": channel,
        "format": file_format,
        "files": file_names,
    }
    if archive is not None:
        details["archive"] = archive
    audit_record(
        action="tokens.downloaded",
        actor=user,
        obj=token_file,
        manufacturer=order.manufacturer,
        request=request,
        details=details,
    )
    return download
