"""Reads for token files; tenancy is applied here, so views cannot forget it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet

from accounts.models import Manufacturer
from orders.models import PurchaseOrder
from refurb_portal.identifiers import new_delivery_number
from tokens.models import FileFormat, Token, TokenDownload, TokenFile


def token_file_for_delivery(*, manufacturer: Manufacturer, delivery_id: int) -> TokenFile | None:
    """The token file of new delivery ``delivery_id`` if its order is ``manufacturer``'s; None
    for another manufacturer's delivery or one without a file (both a 404 to the caller)."""
    return (
        TokenFile.objects.filter(
            delivery_id=delivery_id, delivery__order__manufacturer=manufacturer
        )
        .select_related("delivery__order__manufacturer", "delivery__product")
        .first()
    )


def token_file_for_original_delivery(
    *, manufacturer: Manufacturer, original_delivery_id: int
) -> TokenFile | None:
    """The original License List of original delivery ``original_delivery_id`` when it is of a
    device license order of ``manufacturer``; None otherwise (another manufacturer's, or a
    module order's, whose credentials went to the module factory: a 404 to the caller)."""
    return (
        TokenFile.objects.filter(
            original_delivery_id=original_delivery_id,
            original_delivery__order__manufacturer=manufacturer,
            original_delivery__order__order_type=PurchaseOrder.OrderType.LICENSE,
        )
        .select_related("original_delivery__order__manufacturer")
        .first()
    )


def original_token_files(*, order: PurchaseOrder) -> list[TokenFile]:
    """The files of a device license order's original deliveries, oldest first, with their
    workbooks (empty for a module order)."""
    if order.order_type != PurchaseOrder.OrderType.LICENSE:
        return []
    return list(
        TokenFile.objects.filter(original_delivery__order=order)
        .select_related("original_delivery__order")
        .prefetch_related("workbooks")
        .order_by("original_delivery_id")
    )


def last_downloaded_order(*, manufacturer: Manufacturer) -> PurchaseOrder | None:
    """The order of the manufacturer's latest token-file download in the portal, or None when
    its users have downloaded none (R12: the first download is when they need the
    refurbishment tool). Staff downloads in the admin do not count."""
    return (
        PurchaseOrder.objects.filter(
            new_deliveries__file__downloads__channel=TokenDownload.Channel.PORTAL,
            manufacturer=manufacturer,
        )
        .order_by("-new_deliveries__file__downloads__downloaded_at")
        .first()
    )


@dataclass(frozen=True)
class StoredFile:
    """One file of a READY token file as it is served: ``name`` to download it under,
    ``storage_name`` in ``STORAGES["private"]``, ``size_bytes``, ``sha256`` (hex), its format
    (``csv`` or ``xlsx``), its part (1-based) of ``part_count``, and when it was made."""

    name: str
    storage_name: str
    size_bytes: int
    sha256: str
    file_format: str
    part: int
    part_count: int
    made_at: datetime


def token_file_stored_files(*, token_file: TokenFile, file_format: str) -> list[StoredFile]:
    """The files of ``token_file`` in ``file_format``, in part order; empty unless READY.

    The CSV is one file, recorded on the row itself; the .xlsx License List is one or more
    ``TokenWorkbook`` parts (read with ``workbooks.all()``, so a prefetch serves it). A file
    made before workbooks existed has none until ``make_token_workbooks`` has run.
    """
    if token_file.status != TokenFile.Status.READY:
        return []
    made_at = token_file.finished_at or token_file.created_at
    if file_format == FileFormat.CSV:
        return [
            StoredFile(
                name=token_file.file_name,
                storage_name=token_file.storage_name,
                size_bytes=token_file.size_bytes or 0,
                sha256=token_file.sha256,
                file_format=FileFormat.CSV,
                part=1,
                part_count=1,
                made_at=made_at,
            )
        ]
    return [
        StoredFile(
            name=workbook.file_name,
            storage_name=workbook.storage_name,
            size_bytes=workbook.size_bytes,
            sha256=workbook.sha256,
            file_format=FileFormat.XLSX,
            part=workbook.part,
            part_count=workbook.part_count,
            made_at=made_at,
        )
        for workbook in token_file.workbooks.all()
    ]


def order_ready_files(
    *, order: PurchaseOrder, file_format: str
) -> list[tuple[TokenFile, list[StoredFile]]]:
    """Every READY token file of ``order`` that has files in ``file_format``, oldest delivery
    first, each with its files. The caller has checked that the order is the tenant's."""
    token_files = (
        TokenFile.objects.filter(delivery__order=order, status=TokenFile.Status.READY)
        .select_related("delivery__order__manufacturer", "delivery__product")
        .prefetch_related("workbooks")
        .order_by("delivery__sequence", "delivery_id")
    )
    found = []
    for token_file in token_files:
        files = token_file_stored_files(token_file=token_file, file_format=file_format)
        if files:
            found.append((token_file, files))
    return found


def token_files_without_workbooks() -> list[int]:
    """Ids of READY token files that have no .xlsx workbook (made before workbooks existed),
    oldest first."""
    return list(
        TokenFile.objects.filter(status=TokenFile.Status.READY, workbooks__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- Token lookup and the revocation list (issue #16) ------------------------------------------

# Links followed each way from a looked-up token: far beyond any module's refurbishments, and a
# bound on the walk should the data ever hold a cycle.
CHAIN_MAX_LINKS = 50


@dataclass(frozen=True)
class TokenRecord:
    """What the lookup shows of one token, read as plain values (no model objects: a lookup of
    1,000 would build 6,000 of them). Never its AuthKey. ``delivery_number`` is set for a token
    of a new delivery, ``original_delivered_at`` for one of an original delivery;
    ``replacement_delivery_number``: the targeted new delivery that replaced it, if any."""

    uuid: str
    status: str
    issued_at: datetime
    retired_at: datetime | None
    order_id: int
    order_number: str
    manufacturer_name: str
    product_code: str
    product_name: str
    delivery_number: str | None
    delivery_taken_at: datetime | None
    original_delivered_at: datetime | None
    replacement_delivery_number: str | None
    pk: int
    replaces_id: int | None

    @property
    def status_label(self) -> str:
        return str(Token.Status(self.status).label)


@dataclass(frozen=True)
class TokenHistory:
    """One looked-up UUID. ``token`` is None when it is unknown *to the asker*: never issued, or
    another manufacturer's (the two read alike). ``earlier`` are the UUIDs it replaced, the one
    it replaced directly first; ``later`` the UUIDs that replaced it, its direct replacement
    first (both empty for a token never refurbished)."""

    uuid: str
    token: TokenRecord | None
    earlier: list[str] = field(default_factory=list)
    later: list[str] = field(default_factory=list)


_RECORD_FIELDS = {
    "uuid": "uuid",
    "status": "status",
    "issued_at": "issued_at",
    "retired_at": "retired_at",
    "order_id": "order_id",
    "order_number": "order__number",
    "manufacturer_name": "order__manufacturer__name",
    "product_code": "product__product_id",
    "product_name": "product__name",
    "delivery_sequence": "delivery__sequence",
    "delivery_taken_at": "delivery__taken_at",
    "original_delivered_at": "original_delivery__delivered_at",
    "replacement_sequence": "replacement__delivery__sequence",
    "pk": "pk",
    "replaces_id": "replaces_id",
}


def _record(row: dict[str, Any]) -> TokenRecord:
    delivery, replacement = row.pop("delivery_sequence"), row.pop("replacement_sequence")
    return TokenRecord(
        **row,
        delivery_number=new_delivery_number(delivery) if delivery is not None else None,
        replacement_delivery_number=(
            new_delivery_number(replacement) if replacement is not None else None
        ),
    )


def token_lookup(*, uuids: Sequence[str], manufacturer_id: int | None) -> list[TokenHistory]:
    """The history of each UUID of ``uuids`` (distinct, well formed: ``tokens.lookup_forms``),
    in the order given: its order, product, issuing delivery (new or original), status, dates,
    and the chains of what it replaced and what replaced it.

    Tenancy: with ``manufacturer_id``, only that manufacturer's tokens (by their order) are
    found; another's reads as unknown, through the same single query as a UUID never issued, so
    neither the answer nor its cost tells them apart. ``None`` (staff) finds any.

    A token replaced by a targeted new delivery whose file is still being made has no
    replacement token yet: ``replacement_delivery_number`` names that delivery.

    Set-based: one query for all the UUIDs (the unique ``uuid`` index, ``IN``), and one more,
    only when a token found replaced one or was replaced, walking the ``replaces`` links both
    ways for all of them at once (a recursive CTE probing the primary key and the unique
    ``replaces_id``, within the tenant). Raises nothing.
    """
    tokens = Token.objects.filter(uuid__in=list(uuids))
    if manufacturer_id is not None:
        tokens = tokens.filter(order__manufacturer_id=manufacturer_id)
    aliases = {name: F(path) for name, path in _RECORD_FIELDS.items() if name != path}
    rows = tokens.annotate(**aliases).values(*_RECORD_FIELDS)
    found = {row["uuid"]: _record(row) for row in rows}
    # Only a token that replaced one, or was replaced, has a chain to walk.
    linked = [t.pk for t in found.values() if t.replaces_id is not None or t.status == "replaced"]
    chains = _token_chains(linked, manufacturer_id=manufacturer_id)
    histories = []
    for uuid in uuids:
        token = found.get(uuid)
        if token is None:
            histories.append(TokenHistory(uuid=uuid, token=None))
            continue
        links = chains.get(token.pk, [])
        histories.append(
            TokenHistory(
                uuid=uuid,
                token=token,
                earlier=[u for position, u in reversed(links) if position < 0],
                later=[u for position, u in links if position > 0],
            )
        )
    return histories


def _token_chains(
    token_ids: list[int], *, manufacturer_id: int | None
) -> dict[int, list[tuple[int, str]]]:
    """For each id, ``(position, uuid)`` of the tokens linked to it by ``replaces``, sorted by
    position: -1 the token it replaced, -2 the one that one replaced, ...; +1 its replacement."""
    if not token_ids:
        return {}
    table = connection.ops.quote_name(Token._meta.db_table)
    orders = connection.ops.quote_name(PurchaseOrder._meta.db_table)

    def tenant(alias: str) -> str:
        if manufacturer_id is None:
            return ""
        return (
            f"AND {alias}.order_id IN "  # noqa: S608 (names from the models)
            f"(SELECT id FROM {orders} WHERE manufacturer_id = %(manufacturer)s)"
        )

    # Each step carries the uuid it reached, so no join back to the table at the end; every
    # step is an index probe (the primary key going back, the unique replaces_id going on).
    sql = f"""
        WITH RECURSIVE earlier(start_id, id, next_id, uuid, depth) AS (
            SELECT s.id, p.id, p.replaces_id, p.uuid, 1
            FROM {table} s JOIN {table} p ON p.id = s.replaces_id
            WHERE s.id = ANY(%(ids)s) {tenant("p")}
          UNION ALL
            SELECT e.start_id, p.id, p.replaces_id, p.uuid, e.depth + 1
            FROM earlier e JOIN {table} p ON p.id = e.next_id
            WHERE e.depth < %(most)s {tenant("p")}
        ), later(start_id, id, uuid, depth) AS (
            SELECT n.replaces_id, n.id, n.uuid, 1 FROM {table} n
            WHERE n.replaces_id = ANY(%(ids)s) {tenant("n")}
          UNION ALL
            SELECT l.start_id, n.id, n.uuid, l.depth + 1
            FROM later l JOIN {table} n ON n.replaces_id = l.id
            WHERE l.depth < %(most)s {tenant("n")}
        )
        SELECT start_id, -depth, uuid FROM earlier
        UNION ALL SELECT start_id, depth, uuid FROM later
        ORDER BY 1, 2
    """  # noqa: S608 (table names from the models; values are parameters)
    params: dict[str, Any] = {
        "ids": token_ids,
        "most": CHAIN_MAX_LINKS,
        "manufacturer": manufacturer_id,
    }
    chains: dict[int, list[tuple[int, str]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for start_id, position, uuid in cursor.fetchall():
            chains.setdefault(start_id, []).append((position, uuid))
    return chains


REVOCATION_COLUMNS = ["uuid", "status", "retired_at", "order", "product", "replaced_by"]


def revocation_list(
    *, manufacturer_id: int | None, start: datetime, end: datetime
) -> QuerySet[Token]:
    """Tokens replaced or revoked in ``[start, end)`` (aware datetimes), oldest retirement first
    (then id), only ``manufacturer_id``'s unless None (staff). Served by the partial index on
    ``retired_at``; iterate it (``.iterator()``) to keep memory flat however long it is.

    ``revocation_rows`` gives the download's cells."""
    tokens = Token.objects.filter(
        retired_at__gte=start,
        retired_at__lt=end,
        status__in=[Token.Status.REPLACED, Token.Status.REVOKED],
    )
    if manufacturer_id is not None:
        tokens = tokens.filter(order__manufacturer_id=manufacturer_id)
    return tokens.order_by("retired_at", "pk")


def revocation_rows(
    *, manufacturer_id: int | None, start: datetime, end: datetime, chunk_size: int = 2000
) -> Iterator[tuple[str, str, datetime | None, str, str, str | None]]:
    """The cells of ``REVOCATION_COLUMNS`` for each token of ``revocation_list``, read through a
    server-side cursor ``chunk_size`` rows at a time (constant memory)."""
    rows = revocation_list(manufacturer_id=manufacturer_id, start=start, end=end).values_list(
        "uuid", "status", "retired_at", "order__number", "product__product_id", "replaced_by__uuid"
    )
    return rows.iterator(chunk_size=chunk_size)
