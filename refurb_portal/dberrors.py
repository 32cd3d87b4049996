"""Which database errors are worth retrying: the ones that say "not now", not "never".

PostgreSQL's SQLSTATE classes (Appendix A of its manual): 08 connection exception; 40001
serialization_failure and 40P01 deadlock_detected (class 40, transaction rollback); 55P03
lock_not_available (a ``lock_timeout`` that expired); 57P01-57P03 the server shutting down or
a backend terminated (``pg_terminate_backend``), which ends the connection. An operational
error with no SQLSTATE at all comes from the client library when the connection broke (server
closed it, network lost) or, on SQLite, "database is locked"; Django's ``InterfaceError`` says
the connection was already closed. Everything else (a constraint, a bad value, a missing
table, disk full) fails the same way when tried again.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03"})


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_transient_database_error(exc: BaseException) -> bool:
    """True when ``exc``, or an exception it was raised from, is a database error that may
    pass by itself: a lost connection, a serialization failure, a deadlock, a lock timeout."""
    for error in _chain(exc):
        if isinstance(error, InterfaceError):
            return True
        if isinstance(error, OperationalError):
            sqlstate = getattr(error.__cause__, "sqlstate", None)
            if sqlstate is None or sqlstate.startswith("08") or sqlstate in TRANSIENT_SQLSTATES:
                return True
    return False
