"""Reads for token files; tenancy is applied here, so views cannot forget it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from accounts.models import Manufacturer
from orders.models import PurchaseOrder
from tokens.models import FileFormat, TokenDownload, TokenFile


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
