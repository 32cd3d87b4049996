"""Row locks for the counters that quotas depend on.

Learned from pretix's ``base/services/locking.py``: the helper refuses to run outside a
transaction (a lock taken in autocommit is released at once and protects nothing) and bounds
the wait with ``SET LOCAL lock_timeout`` so that a hot row answers "busy" instead of hanging.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, models
from django.db.utils import OperationalError

from refurb_portal.writers import set_config, writer_for_transaction


class LockBusy(Exception):
    """The row stayed locked by another transaction for longer than the lock timeout."""


@contextmanager
def busy_refused_as(error: Callable[[str], Exception]) -> Iterator[None]:
    """Around a locked change: a lock wait that timed out (``LockBusy``) leaves as the app's
    domain error with code ``"busy"`` (each app's catalogue words it as "being changed by
    someone else right now; try again"), so callers handle one kind of refusal."""
    try:
        yield
    except LockBusy as exc:
        raise error("busy") from exc


def lock_row[M: models.Model](
    queryset: models.QuerySet[M], *, pk: int, writer: str | None = None
) -> M:
    """Return the row ``pk`` of ``queryset`` locked FOR UPDATE until the transaction ends.

    Raises ``DoesNotExist`` when there is no such row and ``LockBusy`` when the lock cannot be
    had within ``settings.ROW_LOCK_TIMEOUT_MS`` (callers wrap the
    transaction in ``busy_refused_as``). With ``writer``, that service's protected writes are
    let through for the rest of the transaction (``refurb_portal.writers``).

    One statement on PostgreSQL: the lock timeout (and the writer) are set by ``set_config(...,
    true)`` in its WHERE clause, which the scan evaluates before the row lock is asked for;
    both end with the transaction and cannot leak to the next user of the connection.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("lock_row() must be called inside transaction.atomic()")
    if connection.vendor == "postgresql":
        timeout = str(int(settings.ROW_LOCK_TIMEOUT_MS))  # milliseconds
        settings_sql = {"_lock_timeout": set_config("lock_timeout", timeout)}
        if writer is not None:
            settings_sql["_writer"] = writer_for_transaction(writer)
        queryset = queryset.alias(**settings_sql).filter(
            **{f"{name}__isnull": False for name in settings_sql}
        )
    try:
        # SQLite ignores FOR UPDATE; there the IMMEDIATE transaction mode serializes writers.
        # of=("self",): a select_related() on the queryset must not lock the joined rows too
        # (locking the manufacturer would serialize all of its orders).
        return queryset.select_for_update(of=("self",)).get(pk=pk)
    except OperationalError as exc:
        if "lock timeout" in str(exc) or getattr(exc.__cause__, "sqlstate", None) == "55P03":
            raise LockBusy from exc
        raise
