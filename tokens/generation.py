"""The token file job: make a new delivery's tokens and its files (CSV and .xlsx), once.

``token_file_generate(token_file_id=...)`` is called by the Celery task, and can be called from
a script (benchmarks) or a shell. Running it twice, one after the other or at the same moment,
yields one token set and the same bytes:

1. **Claim**, a short transaction: lock the job row (skipping it when another session holds it),
   return early when it is READY or FAILED or another session is making it right now, mark it
   GENERATING, count the attempt and stamp the heartbeat, commit (the list and the sweeper see it).
2. **Make**, one transaction: take the job's advisory lock, re-check the status, keep the tokens
   the delivery already has and COPY the missing ones in batches, write the CSV and then the
   .xlsx License List (in parts of at most ``TOKEN_FILE_XLSX_ROWS_PER_PART`` rows) from
   server-side cursors while hashing them (the CSV straight into private storage, on S3 as a
   multipart upload; the workbooks through temporary files), save them to private storage,
   mark the row READY with the CSV's size, rows and SHA-256 and record each workbook, commit.
   A crash before that commit leaves no token and no READY row, only a GENERATING row whose
   heartbeat goes stale for the sweeper.

Why an advisory lock rather than the job row's lock in step 2: progress (``done`` and
``heartbeat_at``) is written to that row by a second connection while step 2's transaction is
open, since step 2's own writes stay invisible until it commits, and a row lock held by step 2
would block them. The advisory lock is transaction-scoped, so PostgreSQL drops it the moment the
transaction ends or the worker's connection dies, and a killed worker never blocks a retry.

On SQLite (``make run``, where tasks run eagerly in the web process) writers are serialized by
the database itself, so there is no advisory lock or progress connection, and tokens go in with
``bulk_create`` batches instead of COPY.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
import secrets
import string
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import batched
from typing import IO

import xlsxwriter
from defusedcsv import csv as defusedcsv
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from xlsxwriter.worksheet import Worksheet

from audit.services import audit_record
from orders.models import Product, PurchaseOrder
from refurb_portal.dberrors import is_transient_database_error
from refurb_portal.exports import xlsx_workbook_options
from refurb_portal.private_files import PrivateFileWriter, private_file_writer
from tokens.errors import TokenFileError
from tokens.models import Token, TokenFile, TokenReplacement, TokenWorkbook

logger = logging.getLogger(__name__)

UUID_ALPHABET = string.ascii_lowercase + string.digits
UUID_LENGTH = 20
AUTH_KEY_ALPHABET = string.ascii_letters + string.digits
AUTH_KEY_LENGTH = 32
# Fixed and in English whatever the request language: production-line tools parse it, by name
# (tyuTool's Batch Auth: `uuid`, `authkey`; ESP-IDF mfg_gen: keys in its config's order) or by
# position (A = uuid, B = key). docs/token-files.md says which readers were checked.
FILE_HEADER = ("uuid", "authkey", "Order number", "Delivery number", "Product ID")
CSV_HEADER = FILE_HEADER
# A targeted new delivery's files add the old UUID each new token replaces, after the tool's
# columns so that readers by position and by name alike find theirs where they were.
OLD_UUID_COLUMN = "old uuid"
CSV_CHUNK_ROWS = 5_000
XLSX_SHEET_NAME = "License List"
XLSX_COLUMN_WIDTHS = (24, 36, 18, 18, 18, 24)
COLLISION_RETRIES = 5
# What the job reads of a file's delivery, new or original, in the query that loads the file.
FILE_RELATED = (
    "delivery__order__manufacturer",
    "delivery__product",
    "original_delivery__order__manufacturer",
)
MAX_SPANS = 32
# A heartbeat alone (no new ``done``) is written at most this often: the sweeper's staleness
# limit is counted in minutes, and each write is a round trip on the progress connection.
HEARTBEAT_EVERY_SECONDS = 1.0
# Advisory locks share one key space per database: the job id below a constant of our own.
_LOCK_NAMESPACE = 0x1D << 56


# --- Token values ---------------------------------------------------------------------------


def _byte_table(alphabet: str) -> tuple[bytes, bytes]:
    """A ``bytes.translate`` table mapping random bytes onto ``alphabet`` without bias.

    Bytes below the largest multiple of the alphabet's length map to one character each (every
    character gets the same number of bytes); the few above it are deleted and drawn again.
    """
    size = len(alphabet)
    limit = 256 - 256 % size
    table = bytes(ord(alphabet[b % size]) if b < limit else 0 for b in range(256))
    return table, bytes(range(limit, 256))


_UUID_TABLE = _byte_table(UUID_ALPHABET)
_AUTH_KEY_TABLE = _byte_table(AUTH_KEY_ALPHABET)


def _random_text(table: tuple[bytes, bytes], length: int) -> str:
    """``length`` characters from ``secrets`` bytes, uniform over the table's alphabet."""
    out = bytearray()
    while len(out) < length:
        missing = length - len(out)
        out += secrets.token_bytes(missing + missing // 16 + 16).translate(*table)
    return out[:length].decode("ascii")


def _split(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)]


def new_token_values(count: int) -> tuple[list[str], list[str]]:
    """``count`` fresh (UUID, AuthKey) pairs, each value distinct within the batch.

    Uniqueness against every token ever issued is the database's job (its unique indexes); a
    collision there is handled by making the whole batch again.
    """
    while True:
        uuids = _split(_random_text(_UUID_TABLE, count * UUID_LENGTH), UUID_LENGTH)
        keys = _split(_random_text(_AUTH_KEY_TABLE, count * AUTH_KEY_LENGTH), AUTH_KEY_LENGTH)
        if len(set(uuids)) == count and len(set(keys)) == count:
            return uuids, keys


# --- Locks and progress ---------------------------------------------------------------------


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _try_generation_lock(token_file_id: int) -> bool:
    """Take the job's advisory lock until the current transaction ends; False if another
    session holds it. Always True on databases without advisory locks (SQLite serializes)."""
    if not _is_postgresql():
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK_NAMESPACE | token_file_id])
        row = cursor.fetchone()
    return bool(row and row[0])


class _Progress:
    """Writes ``done`` and the heartbeat to the job row through a connection of its own, in
    autocommit, so that other sessions see them while the job's transaction is still open.

    Progress is best effort: a write that waits more than a second for a row lock is skipped
    and the next one tries again. A new ``done`` (one per span, at most ``MAX_SPANS`` and the
    count already made) is always written; a bare heartbeat at most every
    ``HEARTBEAT_EVERY_SECONDS``.
    """

    def __init__(self, token_file_id: int) -> None:
        self._token_file_id = token_file_id
        self._db: BaseDatabaseWrapper | None = None
        self._written_at = float("-inf")
        if _is_postgresql():
            self._db = connections.create_connection(DEFAULT_DB_ALIAS)
            with self._db.cursor() as cursor:
                cursor.execute("SET lock_timeout = '1s'")

    def beat(self, *, done: int | None = None) -> None:
        """One small UPDATE for a new ``done``, or for a heartbeat due (see the class)."""
        if self._db is None:
            return
        now = time.monotonic()
        if done is None and now - self._written_at < HEARTBEAT_EVERY_SECONDS:
            return
        try:
            with self._db.cursor() as cursor:
                cursor.execute(
                    "UPDATE tokens_tokenfile SET heartbeat_at = %s, done = COALESCE(%s, done) "
                    "WHERE id = %s AND status = %s",
                    [timezone.now(), done, self._token_file_id, TokenFile.Status.GENERATING],
                )
            self._written_at = now
        except OperationalError:
            logger.info("Token file %s: progress skipped (row busy)", self._token_file_id)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


# --- Where the tokens come from ------------------------------------------------------------


@dataclass(frozen=True)
class TokenSource:
    """The delivery a token file is made for, new or original: what its tokens and files need.

    An original delivery's tokens are of its order's first product by product ID (an original
    delivery names no product; a license order's tokens apply to its products alike).
    """

    order: PurchaseOrder
    label: str  # N001 or O001
    product: Product
    created: datetime  # the workbook's creation time: the same tokens give the same bytes
    delivery_id: int | None
    original_delivery_id: int | None
    targeted: bool

    @classmethod
    def of(cls, token_file: TokenFile) -> TokenSource:
        if token_file.delivery is not None:
            delivery = token_file.delivery
            return cls(
                order=delivery.order,
                label=delivery.number,
                product=delivery.product,
                created=delivery.taken_at,
                delivery_id=delivery.pk,
                original_delivery_id=None,
                targeted=token_file.targeted,
            )
        original = token_file.original_delivery
        assert original is not None
        product = original.order.products.order_by("product_id").first()
        if product is None:
            raise TokenFileError("no_product", order=original.order.number)
        return cls(
            order=original.order,
            label=original.number,
            product=product,
            created=original.delivered_at,
            delivery_id=None,
            original_delivery_id=original.pk,
            targeted=False,
        )

    def tokens(self) -> QuerySet[Token]:
        if self.delivery_id is not None:
            return Token.objects.filter(delivery_id=self.delivery_id)
        return Token.objects.filter(original_delivery_id=self.original_delivery_id)

    def replaced_ids(self, serials: range) -> list[int | None]:
        """The old token each of ``serials`` replaces (None each when not targeted)."""
        if not self.targeted:
            return [None] * len(serials)
        found = dict(
            TokenReplacement.objects.filter(
                delivery_id=self.delivery_id, serial__gte=serials.start, serial__lt=serials.stop
            ).values_list("serial", "old_token_id")
        )
        return [found.get(serial) for serial in serials]

    @property
    def header(self) -> tuple[str, ...]:
        return (*FILE_HEADER, OLD_UUID_COLUMN) if self.targeted else FILE_HEADER


# --- Tokens into the database ---------------------------------------------------------------


def _is_value_collision(exc: IntegrityError) -> bool:
    """True when a new UUID or AuthKey hit one already issued (not any other constraint)."""
    cause = exc.__cause__
    name = getattr(getattr(cause, "diag", None), "constraint_name", None)
    if name is not None:
        return name in {"token_unique_uuid", "token_unique_auth_key"}
    text = str(exc)  # SQLite names the column instead of the constraint
    return "tokens_token.uuid" in text or "tokens_token.auth_key" in text


@dataclass(frozen=True)
class _Span:
    """Serials ``first``..``last`` of one delivery: inserted under one savepoint, made and sent
    a piece of ``piece`` tokens at a time so that memory does not grow with the span."""

    source: TokenSource
    first: int
    last: int
    piece: int

    def pieces(self) -> Iterator[tuple[range, list[str], list[str], list[int | None]]]:
        """Serials, new values and the old token each replaces (or None), a piece at a time.
        The old tokens of the whole span are read on the first call, before any row is sent:
        no query may run while a COPY is open."""
        replaces = self.source.replaced_ids(range(self.first, self.last + 1))
        for first in range(self.first, self.last + 1, self.piece):
            serials = range(first, min(first + self.piece, self.last + 1))
            uuids, keys = new_token_values(len(serials))
            offset = first - self.first
            yield serials, uuids, keys, replaces[offset : offset + len(serials)]


def _copy_span(span: _Span, progress: _Progress) -> None:
    source = span.source
    prefix = f"{source.order.pk}\t{source.delivery_id or '\\N'}\t"
    prefix += f"{source.original_delivery_id or '\\N'}\t{source.product.pk}\t"
    pieces = span.pieces()
    first_piece = next(pieces)  # runs its query now, before the COPY
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.copy(
            "COPY tokens_token (order_id, delivery_id, original_delivery_id, product_id, "
            "serial, uuid, auth_key, replaces_id) FROM STDIN"
        ) as copy,
    ):
        for serials, uuids, keys, replaces in itertools.chain([first_piece], pieces):
            # Letters and digits only: the COPY text format needs no escaping.
            copy.write(
                "".join(
                    f"{prefix}{serial}\t{uuid}\t{key}\t{old or '\\N'}\n"
                    for serial, uuid, key, old in zip(serials, uuids, keys, replaces, strict=True)
                )
            )
            progress.beat()


def _bulk_create_span(span: _Span, progress: _Progress) -> None:
    source = span.source
    for serials, uuids, keys, replaces in span.pieces():
        Token.objects.bulk_create(
            Token(
                order_id=source.order.pk,
                delivery_id=source.delivery_id,
                original_delivery_id=source.original_delivery_id,
                product_id=source.product.pk,
                serial=serial,
                uuid=uuid,
                auth_key=key,
                replaces_id=old,
            )
            for serial, uuid, key, old in zip(serials, uuids, keys, replaces, strict=True)
        )
        progress.beat()


def _insert_span(span: _Span, progress: _Progress) -> None:
    insert = _copy_span if _is_postgresql() else _bulk_create_span
    for attempt in range(1, COLLISION_RETRIES + 1):
        try:
            # A savepoint: a collision undoes this span only, not the ones before it.
            with transaction.atomic():
                insert(span, progress)
            return
        except IntegrityError as exc:
            if not _is_value_collision(exc):
                raise
            # The database's message names the colliding value: it must not reach a log.
            logger.warning("A new token collided with an issued one; span made again (%s)", attempt)
    raise TokenFileError("collisions", attempts=COLLISION_RETRIES) from None


def _make_missing_tokens(token_file: TokenFile, progress: _Progress) -> None:
    """Give the delivery exactly ``total`` tokens numbered 1..total, keeping any it has.

    Each span is a savepoint, that is a subtransaction. PostgreSQL keeps 64 of them per
    transaction in shared memory; past that, every other session's visibility checks slow down
    while this transaction is open. So a job uses at most ``MAX_SPANS`` spans, as large as
    needed, and ``done`` counts the spans the database has accepted.
    """
    source = TokenSource.of(token_file)
    found = source.tokens().aggregate(n=Count("id"), last=Max("serial"))
    have, last = found["n"], found["last"] or 0
    if have != last or have > token_file.total:
        raise TokenFileError("inconsistent", found=have, last=last, total=token_file.total)
    progress.beat(done=have)
    piece = max(1, int(settings.TOKEN_FILE_BATCH_SIZE))
    span_size = max(piece, -(-(token_file.total - have) // MAX_SPANS))
    for first in range(have + 1, token_file.total + 1, span_size):
        span = _Span(
            source=source,
            first=first,
            last=min(first + span_size - 1, token_file.total),
            piece=piece,
        )
        _insert_span(span, progress)
        progress.beat(done=span.last)


# --- The files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrittenFile:
    """One file as written: its rows (header not counted), size in bytes and SHA-256 (hex)."""

    rows: int
    size: int
    sha256: str


@dataclass(frozen=True)
class WorkbookPart:
    """Part ``part`` of ``part_count`` of the .xlsx License List: serials ``first_serial`` to
    ``first_serial + rows - 1``."""

    part: int
    part_count: int
    first_serial: int
    rows: int


def workbook_parts(total: int, *, rows_per_part: int) -> list[WorkbookPart]:
    """Split ``total`` tokens into parts of ``rows_per_part`` rows, the last one shorter.

    Excel holds 1,048,576 rows a sheet (header included), so ``rows_per_part`` is at most
    1,000,000 in production (``TOKEN_FILE_XLSX_ROWS_PER_PART``); 2,100,000 tokens make three
    parts of 1,000,000, 1,000,000 and 100,000 rows.
    """
    size = max(1, rows_per_part)
    count = max(1, -(-total // size))
    return [
        WorkbookPart(
            part=index + 1,
            part_count=count,
            first_serial=index * size + 1,
            rows=min(size, total - index * size),
        )
        for index in range(count)
    ]


def _shared_cells(token_file: TokenFile) -> tuple[str, str, str]:
    """The cells after ``uuid`` and ``authkey`` in every row: order, delivery and product."""
    source = TokenSource.of(token_file)
    return (source.order.number, source.label, source.product.product_id)


def _serial_ordered_values(
    token_file: TokenFile, *, first: int = 1, last: int | None = None
) -> Iterator[tuple[str, str, str | None]]:
    """(UUID, AuthKey, old UUID or None) of the delivery's serials ``first``..``last``, in
    order, from a server-side cursor a chunk at a time."""
    tokens = TokenSource.of(token_file).tokens().filter(serial__gte=first)
    if last is not None:
        tokens = tokens.filter(serial__lte=last)
    return (
        tokens.order_by("serial")
        .values_list("uuid", "auth_key", "replaces__uuid")
        .iterator(chunk_size=CSV_CHUNK_ROWS)
    )


def _csv_line(cells: tuple[str, ...]) -> str:
    """One CSV row as text; ``defusedcsv`` neutralises a cell that could start a formula."""
    buffer = io.StringIO()
    defusedcsv.writer(buffer).writerow(cells)
    return buffer.getvalue()


def _write_csv(token_file: TokenFile, out: IO[bytes], progress: _Progress) -> WrittenFile:
    """Stream the delivery's tokens, in serial order, as CSV into ``out``; hash as it goes.

    Rows come from a server-side cursor (``iterator``) a chunk at a time and are encoded a chunk
    at a time, so memory stays flat whatever the size.

    Columns as ``FILE_HEADER``. The three cells every row shares (order number, delivery
    number, product ID: identifiers, but made by staff, so guarded against formulas all the
    same) go through ``defusedcsv`` once. The UUID and AuthKey cells are letters and digits (the
    database's checks say so), which CSV neither quotes nor neutralises, so each row is the two
    values and that shared suffix: the bytes ``defusedcsv`` would write for the whole row,
    without its per-cell cost on a million rows.
    """
    source = TokenSource.of(token_file)
    suffix = "," + _csv_line(_shared_cells(token_file))
    if source.targeted:
        # The old UUID (letters and digits, like the first two) goes after the shared cells.
        shared = suffix.removesuffix("\r\n")
    digest = hashlib.sha256()
    size = rows = 0

    def emit(text: str) -> None:
        nonlocal size
        data = text.encode("utf-8")
        digest.update(data)
        out.write(data)
        size += len(data)

    emit(_csv_line(source.header))
    for chunk in batched(_serial_ordered_values(token_file), CSV_CHUNK_ROWS):
        if source.targeted:
            emit("".join(f"{uuid},{key}{shared},{old}\r\n" for uuid, key, old in chunk))
        else:
            emit("".join(f"{uuid},{key}{suffix}" for uuid, key, _ in chunk))
        rows += len(chunk)
        progress.beat()
    if rows != token_file.total:
        raise TokenFileError("row_count", rows=rows, total=token_file.total)
    return WrittenFile(rows=rows, size=size, sha256=digest.hexdigest())


def _hash_file(content: IO[bytes]) -> tuple[int, str]:
    """Size in bytes and SHA-256 (hex) of a whole temporary file, read from its start."""
    content.seek(0)
    digest = hashlib.sha256()
    size = 0
    while block := content.read(1 << 20):
        digest.update(block)
        size += len(block)
    return size, digest.hexdigest()


def license_list_workbook(
    out: IO[bytes] | str, *, created: datetime, header: tuple[str, ...] = FILE_HEADER
) -> tuple[xlsxwriter.Workbook, Worksheet]:
    """A new .xlsx License List writing into ``out`` (a file or a path): one sheet, column
    widths and text format set, the header in row 1. Rows go in from row 1 (0-based) with
    ``write_string``; ``close()`` finishes the file. Also the benchmark's limit."""
    workbook = xlsxwriter.Workbook(out, xlsx_workbook_options())
    workbook.set_properties({"created": created})
    sheet = workbook.add_worksheet(XLSX_SHEET_NAME)
    text = workbook.add_format({"num_format": "@"})
    for column, width in enumerate(XLSX_COLUMN_WIDTHS[: len(header)]):
        sheet.set_column(column, column, width, text)
    for column, name in enumerate(header):
        sheet.write_string(0, column, name)
    return workbook, sheet


def _write_xlsx(
    token_file: TokenFile, part: WorkbookPart, out: IO[bytes], progress: _Progress
) -> WrittenFile:
    """Write one part of the .xlsx License List into ``out``; return its rows, size and hash.

    xlsxwriter in ``constant_memory`` mode (chosen over openpyxl's write-only mode by
    measurement: 25 s against 44 s for 1,000,000 rows, both about 25 MB; docs/token-files.md)
    flushes each row to a temporary file as soon as the next begins, so memory stays flat.
    One sheet, the header in row 1, every cell written as a string (and the columns formatted
    as text, so Excel keeps a UUID of digits as text when it is edited), no protection: the
    burning tools write their own status columns back into the workbook. The creation time is
    the delivery's, so the same tokens always give the same bytes.
    """
    source = TokenSource.of(token_file)
    workbook, sheet = license_list_workbook(out, created=source.created, header=source.header)
    write = sheet.write_string
    order, delivery, product = _shared_cells(token_file)
    row = 0
    last = part.first_serial + part.rows - 1
    values = _serial_ordered_values(token_file, first=part.first_serial, last=last)
    for chunk in batched(values, CSV_CHUNK_ROWS):
        for uuid, key, old in chunk:
            row += 1
            write(row, 0, uuid)
            write(row, 1, key)
            write(row, 2, order)
            write(row, 3, delivery)
            write(row, 4, product)
            if old is not None:
                write(row, 5, old)
        progress.beat()
    workbook.close()
    if row != part.rows:
        raise TokenFileError("row_count", rows=row, total=part.rows)
    size, sha256 = _hash_file(out)
    return WrittenFile(rows=row, size=size, sha256=sha256)


def _store(
    storage: Storage,
    token_file: TokenFile,
    content: PrivateFileWriter | IO[bytes],
    written: WrittenFile,
    *,
    extension: str = "csv",
) -> str:
    """Save the file under a name made of its hash; return the name it is stored under."""
    name = f"token-files/{token_file.pk}/{written.sha256}.{extension}"
    if storage.exists(name):
        # Named by its content: an object of the right size there is this very file. One cut
        # short by a crash is smaller, and is replaced.
        if storage.size(name) == written.size:
            return name
        storage.delete(name)
    if isinstance(content, PrivateFileWriter):
        return content.save_as(name)
    content.seek(0)
    return storage.save(name, File(content, name=name))


# --- The job --------------------------------------------------------------------------------


def _claim(token_file_id: int) -> bool:
    with transaction.atomic():
        token_file = (
            TokenFile.objects.select_for_update(skip_locked=True).filter(pk=token_file_id).first()
        )
        if token_file is None:
            if not TokenFile.objects.filter(pk=token_file_id).exists():
                logger.warning("Token file %s does not exist; nothing to do", token_file_id)
            return False
        if token_file.status not in {TokenFile.Status.PENDING, TokenFile.Status.GENERATING}:
            return False  # READY, FAILED, or VOIDED with its delivery
        if not _try_generation_lock(token_file_id):
            return False  # another session is making it right now
        if token_file.attempts >= settings.TOKEN_FILE_MAX_ATTEMPTS:
            _fail(token_file, TokenFileError("gave_up", attempts=token_file.attempts).message)
            return False
        now = timezone.now()
        token_file.status = TokenFile.Status.GENERATING
        token_file.attempts += 1
        token_file.done = 0
        token_file.error = ""
        token_file.started_at = now
        token_file.heartbeat_at = now
        token_file.save(
            update_fields=["status", "attempts", "done", "error", "started_at", "heartbeat_at"]
        )
    return True


def _make_workbooks(
    storage: Storage, token_file: TokenFile, progress: _Progress
) -> list[TokenWorkbook]:
    """Write and store every part of the .xlsx License List; return their unsaved rows."""
    workbooks = []
    parts = workbook_parts(
        token_file.total, rows_per_part=int(settings.TOKEN_FILE_XLSX_ROWS_PER_PART)
    )
    for part in parts:
        with tempfile.TemporaryFile() as content:
            written = _write_xlsx(token_file, part, content, progress)
            stored_as = _store(storage, token_file, content, written, extension="xlsx")
        workbooks.append(
            TokenWorkbook(
                token_file=token_file,
                part=part.part,
                part_count=part.part_count,
                first_serial=part.first_serial,
                row_count=written.rows,
                size_bytes=written.size,
                sha256=written.sha256,
                storage_name=stored_as,
            )
        )
    return workbooks


def _audit_files(
    action: str, token_file: TokenFile, workbooks: list[TokenWorkbook], **details: object
) -> None:
    order = token_file.order
    audit_record(
        action=action,
        obj=token_file,
        manufacturer=order.manufacturer,
        details={
            "order": order.number,
            "delivery": token_file.delivery_label,
            **details,
            "xlsx_sha256": [w.sha256 for w in workbooks],
        },
    )


def _make(token_file_id: int) -> None:
    storage = storages["private"]
    progress = _Progress(token_file_id)
    try:
        with transaction.atomic():
            if not _try_generation_lock(token_file_id):
                return  # another session claimed it after us and is making it
            token_file = TokenFile.objects.select_related(*FILE_RELATED).get(pk=token_file_id)
            if token_file.status != TokenFile.Status.GENERATING:
                return  # finished by another session between our claim and our lock
            started = time.perf_counter()
            _make_missing_tokens(token_file, progress)
            tokens_made = time.perf_counter()
            # Straight into private storage while it is written (S3: a multipart upload).
            with private_file_writer(storage, folder=f"token-files/{token_file.pk}") as content:
                written = _write_csv(token_file, content, progress)  # type: ignore[arg-type]
                stored_as = _store(storage, token_file, content, written)
            csv_written = time.perf_counter()
            workbooks = _make_workbooks(storage, token_file, progress)
            files_written = time.perf_counter()
            # Files saved by an attempt that died before its commit name tokens that were
            # rolled back, never issued; they go now that this attempt's files replace them.
            _delete_others(
                storage, token_file, keep={stored_as, *(w.storage_name for w in workbooks)}
            )
            now = timezone.now()
            TokenFile.objects.filter(pk=token_file_id).update(
                status=TokenFile.Status.READY,
                done=token_file.total,
                row_count=written.rows,
                size_bytes=written.size,
                sha256=written.sha256,
                storage_name=stored_as,
                finished_at=now,
                heartbeat_at=now,
                error="",
            )
            # Rows of an earlier READY, should staff have reset the job by hand, are replaced.
            TokenWorkbook.objects.filter(token_file_id=token_file_id).delete()
            TokenWorkbook.objects.bulk_create(workbooks)
            if _is_postgresql():
                # Any deferred check left (the tokens' own references are checked per COPY
                # statement, tokens.0011) runs here, so that a failing one fails the job before
                # its audit event is recorded.
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            _audit_files(
                "tokens.file_ready",
                token_file,
                workbooks,
                rows=written.rows,
                sha256=written.sha256,
                attempt=token_file.attempts,
            )
    finally:
        progress.close()
    # bench/token_file.py reads this line for the job's phases: keep its shape.
    logger.info(
        "Token file %s ready: %s tokens in %.2f s, CSV of %s bytes in %.2f s, "
        "%s .xlsx part(s) of %s bytes in %.2f s, commit %.2f s",
        token_file_id,
        token_file.total,
        tokens_made - started,
        written.size,
        csv_written - tokens_made,
        len(workbooks),
        sum(w.size_bytes for w in workbooks),
        files_written - csv_written,
        time.perf_counter() - files_written,
    )


def token_file_make_workbooks(*, token_file_id: int) -> int:
    """Give a READY file made before .xlsx existed its License List; return the parts made.

    For the one-off ``make_token_workbooks`` command. The file's row is locked while the
    workbooks are written from its tokens, so two runs make them once; a file that already has
    workbooks, or is not READY, is left as it is (0). Its CSV is not touched: its bytes and
    SHA-256 may already be in a factory's hands.
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
            if token_file.status != TokenFile.Status.READY or token_file.workbooks.exists():
                return 0
            workbooks = _make_workbooks(storage, token_file, progress)
            TokenWorkbook.objects.bulk_create(workbooks)
            _audit_files("tokens.workbooks_made", token_file, workbooks)
    finally:
        progress.close()
    return len(workbooks)


def _delete_others(storage: Storage, token_file: TokenFile, keep: set[str]) -> None:
    """Remove files an earlier attempt saved before it died (their tokens were rolled back)."""
    folder = f"token-files/{token_file.pk}"
    try:
        _, names = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in names:
        if f"{folder}/{name}" not in keep:
            _delete_quietly(storage, f"{folder}/{name}")


def _delete_quietly(storage: Storage, name: str) -> None:
    try:
        storage.delete(name)
    except OSError:
        logger.warning("Could not delete the orphaned token file %s", name)


def _fail(token_file: TokenFile, reason: str) -> None:
    """Mark a GENERATING or PENDING job FAILED with ``reason`` (call inside a transaction)."""
    updated = TokenFile.objects.filter(
        pk=token_file.pk, status__in=[TokenFile.Status.PENDING, TokenFile.Status.GENERATING]
    ).update(status=TokenFile.Status.FAILED, error=reason, finished_at=timezone.now())
    if updated:
        order = token_file.order
        audit_record(
            action="tokens.file_failed",
            obj=token_file,
            manufacturer=order.manufacturer,
            details={
                "order": order.number,
                "delivery": token_file.delivery_label,
                "reason": reason,
            },
        )
    logger.error("Token file %s failed: %s", token_file.pk, reason)


def _failure_reason(exc: BaseException) -> str:
    if isinstance(exc, TokenFileError):
        return exc.message
    # The primary message only: a database error's detail can quote the row's values.
    diag = getattr(exc.__cause__, "diag", None)
    primary = getattr(diag, "message_primary", None)
    return f"{type(exc).__name__}: {primary or exc}"[:2000]


def _release_for_retry(token_file_id: int, exc: BaseException) -> TokenFileError:
    """After a transient database error: put the job back to PENDING (stamped as sent, since
    the task sends its retry now) with the reason for staff, and return the error to raise.

    The failed connection is closed first when it is unusable (a terminated backend), so that
    this write, and the next attempt in this worker, get a new one.
    """
    connection.close_if_unusable_or_obsolete()
    with transaction.atomic():
        attempt = (
            TokenFile.objects.filter(pk=token_file_id).values_list("attempts", flat=True).first()
        ) or 0
        error = TokenFileError("interrupted", attempt=attempt, reason=_failure_reason(exc))
        TokenFile.objects.filter(pk=token_file_id, status=TokenFile.Status.GENERATING).update(
            status=TokenFile.Status.PENDING, error=error.message, enqueued_at=timezone.now()
        )
    logger.warning("Token file %s: %s", token_file_id, error.message)
    return error


def token_file_generate(*, token_file_id: int) -> TokenFile | None:
    """Make the job's tokens and file if that is still to do; return the row as it ends up.

    Idempotent and safe to run concurrently (see the module's docstring). A transient database
    error (``refurb_portal.dberrors``: lost connection, serialization failure, deadlock, lock
    timeout) puts the row back to PENDING and raises ``TokenFileError("interrupted")``, for the
    task to retry with backoff; the claim's attempt count ends it after
    ``TOKEN_FILE_MAX_ATTEMPTS``. Any other failure marks the row FAILED with its reason, for
    staff to read and retry, and is raised again.
    """
    try:
        claimed = _claim(token_file_id)
    except DatabaseError as exc:
        if is_transient_database_error(exc):
            raise _release_for_retry(token_file_id, exc) from exc
        raise
    if claimed:
        try:
            _make(token_file_id)
        except Exception as exc:
            # Any failure must land on the row; it is raised again, never swallowed.
            if is_transient_database_error(exc):
                raise _release_for_retry(token_file_id, exc) from exc
            with transaction.atomic():
                token_file = TokenFile.objects.select_related(*FILE_RELATED).get(pk=token_file_id)
                _fail(token_file, _failure_reason(exc))
            if isinstance(exc, TokenFileError):
                raise
            raise TokenFileError("failed") from exc
    return TokenFile.objects.select_related(*FILE_RELATED).filter(pk=token_file_id).first()
