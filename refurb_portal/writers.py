"""Which service is writing: the key that PostgreSQL's triggers check before they let a write
through to a protected row (see ``refurb_portal.triggers``).

A service names itself with ``service_writes("new_delivery")`` around its writes. That sets the
transaction-local setting ``refurb.writer`` (``set_config(..., is_local => true)``), which
PostgreSQL forgets at the end of the transaction and on the rollback of the savepoint that set
it, and which is cleared again when the block ends. Anything else (the admin's ordinary save, a
shell, raw SQL) finds it empty, and the triggers refuse the write.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.models import Func, TextField, Value

SETTING = "refurb.writer"
# The writers the triggers know. Each one is the service (module) that owns the rows.
ORIGINAL_DELIVERY = "original_delivery"  # orders.services: record and reverse
NEW_DELIVERY = "new_delivery"  # deliveries.services: take and void
TOKEN_FILE_RETENTION = "token_file_retention"  # noqa: S105 (a name) tokens.retention


def set_config(name: str, value: str) -> Func:
    """``set_config(name, value, true)`` as an expression: sets a transaction-local setting
    wherever the statement evaluates it (PostgreSQL only)."""
    return Func(
        Value(name), Value(value), Value(True), function="set_config", output_field=TextField()
    )


def writer_for_transaction(writer: str) -> Func:
    """An expression that names ``writer`` for the rest of the current transaction, for a
    service whose whole transaction is its write (the take): put it in a statement the service
    sends anyway (``lock_row(writer=...)``) instead of the two round trips of
    ``service_writes``. PostgreSQL only; the setting ends with the transaction."""
    return set_config(SETTING, writer)


@contextmanager
def service_writes(writer: str) -> Iterator[None]:
    """Let ``writer``'s protected writes through for the statements inside the block.

    Must run inside ``transaction.atomic()`` (a setting local to an autocommit statement would
    be gone before the write). On SQLite (``make run``) there are no triggers and it does nothing.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("service_writes() must be called inside transaction.atomic()")
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [SETTING, writer])
    yield
    # Only on a normal exit: after an error the transaction is either rolled back (and the
    # setting with it) or aborted, where no statement may run.
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, '', true)", [SETTING])
