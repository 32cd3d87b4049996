"""Retention of token files (docs/scale.md): archive old files, make them again on demand.

A READY file that has been neither made nor downloaded for ``TOKEN_FILE_RETENTION_DAYS`` days is
*archived*: its CSV and .xlsx parts are removed from private storage and ``purged_at`` is set.
Its row, its recorded size and SHA-256, its workbook rows and every token stay, so the file is
still READY and still counts as delivered and downloaded. A download of an archived file asks
for it to be made again (``token_file_restore``): the same job code writes the same bytes from
the same tokens, in serial order, and they are stored only if their SHA-256 equals the recorded
one, so a factory gets exactly the file it would have had. PostgreSQL lets only this module
(writer ``token_file_retention``) touch a READY file's row, and then only ``purged_at``.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from audit.services import audit_record
from refurb_portal.private_files import private_file_writer
from refurb_portal.writers import TOKEN_FILE_RETENTION, service_writes
from tokens.errors import TokenFileError
from tokens.generation import (
    FILE_RELATED,
    _make_workbooks,
    _Progress,
    _store,
    _try_generation_lock,
    _write_csv,
)
from tokens.models import TokenFile

logger = logging.getLogger(__name__)


def _cutoff(now: dt.datetime) -> dt.datetime | None:
    days = int(settings.TOKEN_FILE_RETENTION_DAYS)
    return now - dt.timedelta(days=days) if days > 0 else None


def _stale(cutoff: dt.datetime) -> QuerySet[TokenFile]:
    """READY files, stored, made before ``cutoff`` and not downloaded since."""
    return (
        TokenFile.objects.filter(
            status=TokenFile.Status.READY, purged_at__isnull=True, finished_at__lt=cutoff
        )
        .exclude(downloads__downloaded_at__gte=cutoff)
        .order_by("finished_at", "pk")
    )


def token_files_purge(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Archive up to ``limit`` files past the retention age; return their ids (oldest first).

    Nothing happens while ``TOKEN_FILE_RETENTION_DAYS`` is 0. Each file is archived in its own
    transaction with its row locked (``skip_locked``: a file being downloaded or restored right
    now is left for the next run) and checked again under the lock: a download recorded since
    the candidates were listed keeps it. Its stored objects are deleted after the commit, so a
    failed commit leaves a file whole; a deletion that fails leaves an object nobody serves,
    which the next restore overwrites with the same bytes.
    """
    now = now or timezone.now()
    cutoff = _cutoff(now)
    if cutoff is None:
        return []
    archived: list[int] = []
    for token_file_id in list(_stale(cutoff).values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            token_file = (
                _stale(cutoff)
                .select_for_update(of=("self",), skip_locked=True)
                .select_related("delivery__order__manufacturer", "original_delivery__order")
                .filter(pk=token_file_id)
                .first()
            )
            if token_file is None or not _try_generation_lock(token_file_id):
                continue
            names = [
                token_file.storage_name,
                *token_file.workbooks.values_list("storage_name", flat=True),
            ]
            with service_writes(TOKEN_FILE_RETENTION):
                TokenFile.objects.filter(pk=token_file_id).update(purged_at=now)
            _audit(
                "tokens.file_archived",
                token_file,
                days=int(settings.TOKEN_FILE_RETENTION_DAYS),
                sha256=token_file.sha256,
            )
            transaction.on_commit(partial(_delete, storages["private"], names))
        archived.append(token_file_id)
    return archived


def _delete(storage: Storage, names: list[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            logger.warning("Archived token file object %s could not be deleted", name)


def token_file_restore(*, token_file_id: int) -> bool:
    """Make an archived file's CSV and .xlsx parts again from its tokens and store them;
    ``True`` when restored, ``False`` when there was nothing to do (not archived, not READY,
    another restore holds it).

    The row is locked for the whole job (a second restore waits, then finds it done). The bytes
    are stored only when each file's SHA-256 equals the recorded one; otherwise
    ``TokenFileError("restore_mismatch")`` is raised, nothing is stored, the file stays archived
    and the error is logged for staff.
    """
    storage = storages["private"]
    progress = _Progress(token_file_id)
    try:
        with transaction.atomic():
            token_file = (
                TokenFile.objects.select_for_update(of=("self",))
                .select_related(*FILE_RELATED)
                .get(pk=token_file_id)
            )
            if token_file.status != TokenFile.Status.READY or token_file.purged_at is None:
                return False
            if not _try_generation_lock(token_file_id):
                return False
            with private_file_writer(storage, folder=f"token-files/{token_file.pk}") as content:
                written = _write_csv(token_file, content, progress)  # type: ignore[arg-type]
                _check(token_file.sha256, written.sha256, what="CSV")
                _store(storage, token_file, content, written)
            recorded = {w.part: w.sha256 for w in token_file.workbooks.all()}
            if recorded:
                made = _make_workbooks(storage, token_file, progress)
                wrong = [w for w in made if recorded.get(w.part) != w.sha256]
                if wrong:
                    # Named by their content, so they cannot be the recorded parts: removed.
                    _delete(storage, [w.storage_name for w in wrong])
                    raise TokenFileError("restore_mismatch", what="xlsx")
            with service_writes(TOKEN_FILE_RETENTION):
                TokenFile.objects.filter(pk=token_file_id).update(purged_at=None)
            _audit("tokens.file_restored", token_file, sha256=token_file.sha256)
    except TokenFileError as exc:
        if exc.code == "restore_mismatch":
            logger.error("Token file %s not restored: %s", token_file_id, exc.message)
        raise
    finally:
        progress.close()
    return True


def _check(recorded: str, made: str, *, what: str) -> None:
    if recorded != made:
        raise TokenFileError("restore_mismatch", what=what)


def token_file_restore_request(*, token_file: TokenFile) -> None:
    """Ask for an archived file to be made again, after the current transaction commits. A
    broker that is down is logged, not raised: the download page says to try again."""
    from tokens.tasks import token_file_restore as task

    def send() -> None:
        try:
            task.delay(token_file.pk)
        except BrokerError:
            logger.warning("Broker unreachable; restore of token file %s not sent", token_file.pk)
        except TokenFileError as exc:
            # Only with eager tasks (make run) does the job run inside delay().
            logger.warning("Token file %s not restored: %s", token_file.pk, exc.code)

    transaction.on_commit(send)


def _audit(action: str, token_file: TokenFile, **details: object) -> None:
    order = token_file.order  # of a new or an original delivery
    audit_record(
        action=action,
        obj=token_file,
        manufacturer=order.manufacturer,
        details={"order": order.number, "delivery": token_file.delivery_label, **details},
    )
