"""Reads for token files; tenancy is applied here, so views cannot forget it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from accounts.models import Manufacturer
from orders.models import PurchaseOrder
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
class TokenHistory:
    """One looked-up UUID. ``token`` is None when it is unknown *to the asker*: never issued, or
    another manufacturer's (the two read alike). ``earlier`` are the UUIDs it replaced, the one
    it replaced directly first; ``later`` the UUIDs that replaced it, its direct replacement
    first (both empty for a token never refurbished)."""

    uuid: str
    token: Token | None
    earlier: list[str] = field(default_factory=list)
    later: list[str] = field(default_factory=list)


def token_lookup(*, uuids: Sequence[str], manufacturer_id: int | None) -> list[TokenHistory]:
    """The history of each UUID of ``uuids`` (distinct, well formed: ``tokens.lookup_forms``),
    in the order given: its order, product, issuing delivery (new or original), status, dates,
    and the chains of what it replaced and what replaced it.

    Tenancy: with ``manufacturer_id``, only that manufacturer's tokens (by their order) are
    found; another's reads as unknown, through the same single query as a UUID never issued, so
    neither the answer nor its cost tells them apart. ``None`` (staff) finds any.

    Set-based: one query for all the UUIDs (the unique ``uuid`` index, ``= ANY``), and one more,
    only when something was found, walking the ``replaces`` links both ways for all of them at
    once (a recursive CTE over the primary key and the unique ``replaces_id``). Raises nothing.
    """
    tokens = (
        Token.objects.filter(uuid__in=list(uuids))
        .select_related("order__manufacturer", "product", "delivery", "original_delivery")
        .defer("auth_key")
    )
    if manufacturer_id is not None:
        tokens = tokens.filter(order__manufacturer_id=manufacturer_id)
    found = {token.uuid: token for token in tokens}
    chains = _token_chains([t.pk for t in found.values()], manufacturer_id=manufacturer_id)
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
    tenant = "" if manufacturer_id is None else "AND o.manufacturer_id = %(manufacturer)s"
    sql = f"""
        WITH RECURSIVE earlier(start_id, id, depth) AS (
            SELECT t.id, t.replaces_id, 1 FROM {table} t
            WHERE t.id = ANY(%(ids)s) AND t.replaces_id IS NOT NULL
          UNION ALL
            SELECT e.start_id, t.replaces_id, e.depth + 1
            FROM earlier e JOIN {table} t ON t.id = e.id
            WHERE t.replaces_id IS NOT NULL AND e.depth < %(most)s
        ), later(start_id, id, depth) AS (
            SELECT t.replaces_id, t.id, 1 FROM {table} t WHERE t.replaces_id = ANY(%(ids)s)
          UNION ALL
            SELECT l.start_id, t.id, l.depth + 1
            FROM later l JOIN {table} t ON t.replaces_id = l.id
            WHERE l.depth < %(most)s
        ), links(start_id, id, position) AS (
            SELECT start_id, id, -depth FROM earlier
            UNION ALL SELECT start_id, id, depth FROM later
        )
        SELECT links.start_id, links.position, t.uuid
        FROM links
        JOIN {table} t ON t.id = links.id
        JOIN {orders} o ON o.id = t.order_id
        WHERE TRUE {tenant}
        ORDER BY links.start_id, links.position
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
) -> Iterator[tuple[str, str, datetime, str, str, str | None]]:
    """The cells of ``REVOCATION_COLUMNS`` for each token of ``revocation_list``, read through a
    server-side cursor ``chunk_size`` rows at a time (constant memory)."""
    rows = revocation_list(manufacturer_id=manufacturer_id, start=start, end=end).values_list(
        "uuid", "status", "retired_at", "order__number", "product__product_id", "replaced_by__uuid"
    )
    return rows.iterator(chunk_size=chunk_size)
