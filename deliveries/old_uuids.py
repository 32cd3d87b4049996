"""A targeted new delivery's list of old UUIDs: read, kept, checked, and recorded on the take.

The manufacturer pastes the old UUIDs of the modules being refurbished, or uploads a .csv,
.txt or .xlsx of them (a ``uuid`` column in any case, or one value a line), up to
``OLD_UUID_LIST_MAX_LINES`` lines. The list is read streaming (the text a line at a time,
.xlsx through openpyxl's ``read_only`` mode) into a small text file in private storage, named
by a random key under the order's folder, so that the check page, the problem list's CSV and
the take all read the same list without the browser sending it again.

Every check is set-based: the list is COPYed into a temporary table and one query joins it to
this order's tokens by their unique UUID index; nothing is asked per line. A line is
``malformed`` (not 20 characters ``a-z0-9``), ``duplicate`` (the same value on an earlier
line), ``unknown`` (no token of this order: another order's or manufacturer's token reads
the same, so nothing leaks), ``replaced`` or ``revoked``; the rest are valid. PostgreSQL only.
"""

from __future__ import annotations

import io
import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from deliveries.errors import DeliveryError
from refurb_portal.writers import NEW_DELIVERY, service_writes
from tokens.uuid_lists import UuidListError, uuid_list_lines

# The kinds of problem, in the order the summary shows them, with their labels.
PROBLEMS = {
    "malformed": _("malformed (not 20 letters a-z and digits)"),
    "unknown": _("unknown (no token of this order)"),
    "duplicate": _("duplicated in the list"),
    "replaced": _("already replaced"),
    "revoked": _("revoked (its delivery was voided or reversed)"),
}
SHOWN_PROBLEMS = 100
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_FOLDER = "old-uuid-lists"


@dataclass(frozen=True)
class Problem:
    line: int
    value: str
    kind: str
    first_line: int  # the earlier line of a duplicate (its own line otherwise)

    @property
    def label(self) -> str:
        return str(PROBLEMS[self.kind])


@dataclass(frozen=True)
class ListCheck:
    """What a check of a stored list found: ``lines`` read, ``valid`` of them, the count of
    each kind of problem (``PROBLEMS`` order, only those found) and the first
    ``SHOWN_PROBLEMS`` problems in line order."""

    key: str
    lines: int
    valid: int
    counts: dict[str, int]
    problems: list[Problem]

    @property
    def problem_count(self) -> int:
        return self.lines - self.valid

    @property
    def summary(self) -> list[tuple[str, int]]:
        return [
            (str(PROBLEMS[kind]), self.counts[kind]) for kind in PROBLEMS if kind in self.counts
        ]


@dataclass(frozen=True)
class OldUuidList:
    """A stored list handed to the take: its key, and whether the user chose to take the valid
    lines only although problems remain."""

    key: str
    valid_only: bool = False


# --- Reading ---------------------------------------------------------------------------------


def read_lines(stream: IO[bytes], *, name: str) -> Iterator[tuple[int, str]]:
    """The non-blank lines of an uploaded list (``name`` decides the format: ``.xlsx``, or
    text for ``.csv``, ``.txt`` and a paste) as (line number in the source, value), streaming,
    one value a line: ``tokens.uuid_lists.uuid_list_lines``, the reader the token lookup uses
    too. Raises ``DeliveryError("old_uuids_too_long")`` past ``OLD_UUID_LIST_MAX_LINES`` lines
    and ``"old_uuids_unreadable"`` for a workbook that cannot be opened."""
    try:
        yield from uuid_list_lines(stream, name=name, limit=settings.OLD_UUID_LIST_MAX_LINES)
    except UuidListError as exc:
        if exc.code == "too_long":
            raise DeliveryError("old_uuids_too_long", limit=exc.limit) from exc
        raise DeliveryError("old_uuids_unreadable") from exc


# --- Keeping a list between the check and the take --------------------------------------------


def _name(order_id: int, key: str) -> str:
    return f"{_FOLDER}/{order_id}/{key}.tsv"


def old_uuid_list_store(*, order_id: int, lines: Iterable[tuple[int, str]]) -> str:
    """Write ``lines`` (from ``read_lines``) to private storage for ``order_id``; return the
    list's key. Raises what ``read_lines`` raises (nothing is stored then), and
    ``DeliveryError("old_uuids_empty")`` for a list without a value."""
    key = secrets.token_urlsafe(24)
    with tempfile.TemporaryFile() as out:
        writer = io.TextIOWrapper(out, encoding="utf-8", newline="\n", write_through=False)
        count = 0
        for number, value in lines:
            writer.write(f"{number}\t{value}\n")
            count += 1
        writer.flush()
        if count == 0:
            raise DeliveryError("old_uuids_empty")
        out.seek(0)
        storages["private"].save(_name(order_id, key), File(out, name=f"{key}.tsv"))
        writer.detach()
    return key


def _open_stored(order_id: int, key: str) -> IO[bytes]:
    """The stored list (its text is already in COPY's format); a key that is not this order's
    list reads as expired, whoever asks."""
    storage = storages["private"]
    if not _KEY.match(key or "") or not storage.exists(_name(order_id, key)):
        raise DeliveryError("old_uuids_expired")
    try:
        return storage.open(_name(order_id, key), "rb")
    except (FileNotFoundError, OSError) as exc:
        raise DeliveryError("old_uuids_expired") from exc


# --- Checking ------------------------------------------------------------------------------

_VERDICTS = """
CREATE TEMP TABLE old_uuid_verdict ON COMMIT DROP AS
SELECT l.line, l.value, l.first_line, t.id AS token_id,
       CASE WHEN l.value !~ '^[a-z0-9]{20}$' THEN 'malformed'
            WHEN l.first_line < l.line THEN 'duplicate'
            WHEN t.id IS NULL THEN 'unknown'
            WHEN t.status = 'replaced' THEN 'replaced'
            WHEN t.status = 'revoked' THEN 'revoked'
            ELSE 'valid' END AS verdict
FROM (SELECT line, value, min(line) OVER (PARTITION BY value) AS first_line
      FROM old_uuid_list) AS l
LEFT JOIN tokens_token AS t ON t.uuid = l.value AND t.order_id = %s
"""


def old_uuid_lists_unsupported() -> str:
    """Why lists of old UUIDs cannot be checked here ("" where they can: PostgreSQL). The page
    says it before a list is given; the check raises ``old_uuids_unsupported`` all the same."""
    if connection.vendor == "postgresql":
        return ""
    return str(DeliveryError.messages["old_uuids_unsupported"])


def _load_and_judge(order_id: int, key: str) -> None:
    """COPY the stored list into a temporary table and judge every line against the order's
    tokens into ``old_uuid_verdict`` (both dropped at the end of the transaction)."""
    if not connection.in_atomic_block:
        raise RuntimeError("an old UUID list is checked inside transaction.atomic()")
    if connection.vendor != "postgresql":
        # COPY and the set-based judgement are PostgreSQL's; make run's SQLite says so.
        raise DeliveryError("old_uuids_unsupported")
    with _open_stored(order_id, key) as stored, connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS old_uuid_list, old_uuid_verdict")
        cursor.execute(
            "CREATE TEMP TABLE old_uuid_list (line integer PRIMARY KEY, value text NOT NULL) "
            "ON COMMIT DROP"
        )
        with cursor.copy("COPY old_uuid_list (line, value) FROM STDIN") as copy:
            while block := stored.read(1 << 20):
                copy.write(block)
        cursor.execute(_VERDICTS, [order_id])


def _summary(key: str) -> ListCheck:
    with connection.cursor() as cursor:
        cursor.execute("SELECT verdict, count(*) FROM old_uuid_verdict GROUP BY verdict")
        counts = dict(cursor.fetchall())
        cursor.execute(
            "SELECT line, value, verdict, first_line FROM old_uuid_verdict "
            "WHERE verdict <> 'valid' ORDER BY line LIMIT %s",
            [SHOWN_PROBLEMS],
        )
        problems = [Problem(*row) for row in cursor.fetchall()]
    valid = counts.pop("valid", 0)
    return ListCheck(
        key=key, lines=valid + sum(counts.values()), valid=valid, counts=counts, problems=problems
    )


def old_uuid_list_check(*, order_id: int, key: str) -> ListCheck:
    """Check stored list ``key`` against order ``order_id``'s tokens as they are now.

    Inside the caller's transaction when there is one (the take, under the order's row lock),
    else in its own. The caller checks that the user may see the order. Raises
    ``DeliveryError("old_uuids_expired")`` for a key that is not a list of this order.
    """
    with transaction.atomic():
        _load_and_judge(order_id, key)
        return _summary(key)


def old_uuid_problems_csv(*, order_id: int, key: str) -> Iterator[str]:
    """Every problem of stored list ``key``, as CSV text a chunk at a time (line, value,
    problem, first line of a duplicate). Values are the list's own, so they go through
    ``defusedcsv`` (a pasted cell must not become a spreadsheet formula)."""
    from defusedcsv import csv as defusedcsv

    with transaction.atomic():
        _load_and_judge(order_id, key)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT line, value, verdict, first_line FROM old_uuid_verdict "
                "WHERE verdict <> 'valid' ORDER BY line"
            )
            buffer = io.StringIO()
            writer = defusedcsv.writer(buffer)
            writer.writerow(["line", "value", "problem", "first line"])
            while rows := cursor.fetchmany(10_000):
                for line, value, verdict, first_line in rows:
                    writer.writerow([line, value, verdict, first_line if first_line < line else ""])
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
            yield buffer.getvalue()


# --- Recording the take --------------------------------------------------------------------


def replacements_check(*, order_id: int, old_uuids: OldUuidList, quantity: int) -> ListCheck:
    """For ``new_delivery_take``, under the order's row lock: check the list again and refuse
    (``DeliveryError``) problems the user did not accept, or a count of valid lines that is no
    longer ``quantity`` (another take replaced some meanwhile: the page is out of date)."""
    check = old_uuid_list_check(order_id=order_id, key=old_uuids.key)
    if check.problem_count and not old_uuids.valid_only:
        raise DeliveryError("old_uuids_problems", problems=check.problem_count)
    if check.valid != quantity:
        raise DeliveryError("old_uuids_changed", valid=check.valid, quantity=quantity)
    return check


def replacements_record(*, delivery_id: int) -> None:
    """For ``new_delivery_take``, in its transaction after ``replacements_check``: new serial
    ``n`` replaces the ``n``-th valid line's token (list order), and those old tokens are marked
    replaced now. The unique index on ``TokenReplacement.old_token`` backs the row lock."""
    with service_writes(NEW_DELIVERY), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tokens_tokenreplacement (delivery_id, serial, old_token_id) "
            "SELECT %s, row_number() OVER (ORDER BY line), token_id FROM old_uuid_verdict "
            "WHERE verdict = 'valid'",
            [delivery_id],
        )
        cursor.execute(
            "UPDATE tokens_token AS t SET status = 'replaced', retired_at = now() "
            "FROM old_uuid_verdict AS v WHERE v.verdict = 'valid' AND t.id = v.token_id"
        )


def replacements_release(*, delivery_id: int) -> None:
    """For ``new_delivery_void``, inside its ``service_writes``: the old tokens a voided
    targeted delivery replaced are issued again and may be listed again (its file was never
    downloaded, so they are still the modules' credentials)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tokens_token AS t SET status = 'issued', retired_at = NULL "
            "FROM tokens_tokenreplacement AS r WHERE r.delivery_id = %s AND t.id = r.old_token_id",
            [delivery_id],
        )
        cursor.execute("DELETE FROM tokens_tokenreplacement WHERE delivery_id = %s", [delivery_id])
