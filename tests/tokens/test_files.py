"""The token files as the production line's tools read them, the .xlsx parts, the downloads of
each file and the ZIP of an order (docs/token-files.md)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import zipfile
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook
from pytest_django.fixtures import Settings

from accounts.models import User
from audit.models import AuditEvent
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from tests.conftest import delivered_license_order
from tests.tokens.conftest import csv_rows, file_bytes, ready, take
from tests.tokens.readers import (
    RESERVED_BY_TYUTOOL,
    mfg_gen_tokens,
    tyutool_v2_tokens,
    tyutool_v3_tokens,
)
from tokens.generation import FILE_HEADER, workbook_parts
from tokens.models import Token, TokenDownload, TokenWorkbook

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def stored_bytes(storage_name: str) -> bytes:
    with storages["private"].open(storage_name, "rb") as handle:
        return handle.read()


def saved(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def tokens_of(delivery: NewDelivery) -> list[tuple[str, str]]:
    return list(
        Token.objects.filter(delivery=delivery).order_by("serial").values_list("uuid", "auth_key")
    )


def test_tyutool_batch_auth_reads_every_token_of_our_xlsx_in_order_and_nothing_else(
    seed_order: PurchaseOrder, acme_user: User, tmp_path: Path
) -> None:
    delivery = take(seed_order, acme_user, 300)
    token_file = ready(delivery)
    (workbook,) = token_file.workbooks.all()
    data = stored_bytes(workbook.storage_name)
    assert (workbook.size_bytes, workbook.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert workbook.file_name == "LIC-2026-0001-N001-tokens.xlsx"
    path = saved(tmp_path, workbook.file_name, data)

    expected = tokens_of(delivery)
    assert len(expected) == 300
    assert tyutool_v2_tokens(path) == expected  # openpyxl, active sheet
    assert tyutool_v3_tokens(path) == expected  # calamine, first sheet, lengths checked

    # The shape those readers rely on: one sheet, header in row 1 (no title rows), every cell
    # stored as text, no column a tool writes back, nothing protected.
    book = load_workbook(path)
    (sheet,) = book.worksheets
    assert book.active is sheet
    rows = list(sheet.iter_rows())
    assert tuple(cell.value for cell in rows[0]) == FILE_HEADER
    assert not {name.lower() for name in FILE_HEADER} & RESERVED_BY_TYUTOOL
    assert all(cell.data_type == "s" for row in rows for cell in row)
    assert [tuple(cell.value for cell in row[2:]) for row in rows[1:]] == [
        ("LIC-2026-0001", "N001", delivery.product.product_id)
    ] * 300
    assert not sheet.protection.sheet
    assert book.security is None or not book.security.lockStructure


def test_mfg_gen_reads_our_csv_with_keys_uuid_then_authkey(
    seed_order: PurchaseOrder, acme_user: User, tmp_path: Path
) -> None:
    delivery = take(seed_order, acme_user, 120)
    data = file_bytes(ready(delivery))
    assert not data.startswith(b"\xef\xbb\xbf")
    path = saved(tmp_path, "values.csv", data)
    assert mfg_gen_tokens(path) == tokens_of(delivery)
    # A reader that goes by position: column A the UUID, column B the key.
    assert [(row[0], row[1]) for row in csv_rows(data)[1:]] == tokens_of(delivery)


def test_workbook_parts_split_at_a_million_rows() -> None:
    parts = workbook_parts(2_100_000, rows_per_part=1_000_000)
    assert [(p.part, p.part_count, p.first_serial, p.rows) for p in parts] == [
        (1, 3, 1, 1_000_000),
        (2, 3, 1_000_001, 1_000_000),
        (3, 3, 2_000_001, 100_000),
    ]
    assert [p.rows for p in workbook_parts(1_000_000, rows_per_part=1_000_000)] == [1_000_000]
    assert [p.rows for p in workbook_parts(1, rows_per_part=1_000_000)] == [1]


def test_a_delivery_past_the_rows_of_a_part_gets_numbered_parts_whose_rows_equal_the_csv(
    acme_user: User, settings: Settings
) -> None:
    """2,100,000 tokens at 1,000,000 a part, at a thousandth of the size: the arithmetic of
    the real split is ``test_workbook_parts_split_at_a_million_rows``, and ``bench/token_file``
    writes a real 1,000,000-row part."""
    settings.TOKEN_FILE_XLSX_ROWS_PER_PART = 1_000
    assert acme_user.manufacturer is not None
    order = delivered_license_order(
        acme_user.manufacturer, number="LIC-2026-0001", ordered=2_100, delivered=2_100
    )
    delivery = take(order, acme_user, 2_100)
    token_file = ready(delivery)
    workbooks = list(token_file.workbooks.all())
    assert [(w.part, w.part_count, w.first_serial, w.row_count) for w in workbooks] == [
        (1, 3, 1, 1_000),
        (2, 3, 1_001, 1_000),
        (3, 3, 2_001, 100),
    ]
    assert [w.file_name for w in workbooks] == [
        f"LIC-2026-0001-N001-tokens-part-{n}-of-3.xlsx" for n in (1, 2, 3)
    ]
    rows: list[tuple[str, ...]] = []
    for workbook in workbooks:
        data = stored_bytes(workbook.storage_name)
        assert workbook.sha256 == hashlib.sha256(data).hexdigest()
        book = load_workbook(io.BytesIO(data), read_only=True)
        (sheet,) = book.worksheets
        part_rows = [tuple(str(v) for v in row) for row in sheet.iter_rows(values_only=True)]
        book.close()
        assert part_rows[0] == FILE_HEADER  # each part has its own header
        rows += part_rows[1:]
    assert rows == [tuple(row) for row in csv_rows(file_bytes(token_file))[1:]]


def test_each_file_is_offered_with_its_size_and_hash_and_served_as_it_was_recorded(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User, settings: Settings
) -> None:
    settings.TOKEN_FILE_XLSX_ROWS_PER_PART = 100
    delivery = take(seed_order, acme_user, 150)
    token_file = ready(delivery)
    first, second = token_file.workbooks.all()
    page = acme_client.get(reverse("deliveries:order_delivery_list", args=[seed_order.number]))
    html = page.content.decode()
    for sha in (token_file.sha256, first.sha256, second.sha256):
        assert sha in html
    for part in (1, 2):
        assert reverse("tokens:download_file", args=[delivery.pk, "xlsx", part]) in html
    assert "Excel (.xlsx), part 2 of 2" in html
    for file_format in ("csv", "xlsx"):
        assert reverse("tokens:order_download", args=[seed_order.number, file_format]) in html

    response = acme_client.get(reverse("tokens:download_file", args=[delivery.pk, "xlsx", 2]))
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == (
        'attachment; filename="LIC-2026-0001-N001-tokens-part-2-of-2.xlsx"'
    )
    assert int(response["Content-Length"]) == second.size_bytes
    assert b"".join(response.streaming_content) == stored_bytes(second.storage_name)  # type: ignore[arg-type]
    download = TokenDownload.objects.get()
    assert (download.file_format, download.in_archive) == ("xlsx", False)
    event = AuditEvent.objects.get(action="tokens.downloaded")
    assert event.details["files"] == ["LIC-2026-0001-N001-tokens-part-2-of-2.xlsx"]

    csv_response = acme_client.get(reverse("tokens:download_file", args=[delivery.pk, "csv", 1]))
    assert b"".join(csv_response.streaming_content) == file_bytes(token_file)  # type: ignore[arg-type]
    assert (
        acme_client.get(reverse("tokens:download_file", args=[delivery.pk, "xlsx", 3])).status_code
        == 404
    )
    assert (
        acme_client.get(f"/purchase/new-deliveries/{delivery.pk}/download/pdf/1/").status_code
        == 404
    )


def test_the_initiate_page_offers_the_order_zip_in_both_formats(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    take(seed_order, acme_user, 5)
    html = acme_client.get(reverse("deliveries:initiate", args=[seed_order.number])).content
    for file_format in ("csv", "xlsx"):
        url = reverse("tokens:order_download", args=[seed_order.number, file_format])
        assert url.encode() in html


def zip_of(client: Client, order: PurchaseOrder, file_format: str) -> zipfile.ZipFile:
    response = client.get(reverse("tokens:order_download", args=[order.number, file_format]))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{order.number}-token-files-{file_format}.zip"'
    )
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[arg-type]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_zip_of_an_order_holds_each_ready_file_once_and_sha256sum_verifies_it(
    acme_client: Client,
    seed_order: PurchaseOrder,
    acme_user: User,
    settings: Settings,
    tmp_path: Path,
    file_format: str,
) -> None:
    settings.TOKEN_FILE_XLSX_ROWS_PER_PART = 100
    first, second = take(seed_order, acme_user, 250), take(seed_order, acme_user, 40)
    pending = take(seed_order, acme_user, 7)  # not ready: left out
    files = {first: ready(first), second: ready(second)}
    expected = (
        [tf.file_name for tf in files.values()]
        if file_format == "csv"
        else [w.file_name for tf in files.values() for w in tf.workbooks.all()]
    )

    archive = zip_of(acme_client, seed_order, file_format)

    names = archive.namelist()
    assert names == [*expected, "SHA256SUMS"]
    assert len(set(names)) == len(names)
    assert pending.number not in " ".join(names)
    if file_format == "xlsx":
        assert len(expected) == 4  # 250 tokens in 3 parts of 100, 40 in 1
    archive.extractall(tmp_path)
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == len(expected)
    # Recorded and audited like single downloads: one per token file, marked as in the ZIP.
    downloads = TokenDownload.objects.order_by("token_file__delivery__sequence")
    assert [(d.token_file.delivery, d.file_format, d.in_archive) for d in downloads] == [
        (first, file_format, True),
        (second, file_format, True),
    ]
    events = AuditEvent.objects.filter(action="tokens.downloaded")
    assert {e.details["archive"] for e in events} == {
        f"{seed_order.number}-token-files-{file_format}.zip"
    }


def test_an_order_zip_with_nothing_ready_explains_and_records_nothing(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    take(seed_order, acme_user, 5)
    response = acme_client.get(reverse("tokens:order_download", args=[seed_order.number, "csv"]))
    assert response.status_code == 409
    assert "No token file of this order is ready in this format yet." in response.content.decode()
    assert not TokenDownload.objects.exists()


def test_another_manufacturers_order_zip_is_404(
    globex_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    ready(take(seed_order, acme_user, 5))
    for file_format in ("csv", "xlsx"):
        url = reverse("tokens:order_download", args=[seed_order.number, file_format])
        assert globex_client.get(url).status_code == 404
    assert not TokenDownload.objects.exists()


def test_a_file_made_before_workbooks_gets_them_from_the_one_off_command(
    acme_client: Client, acme_user: User, tmp_path: Path
) -> None:
    assert acme_user.manufacturer is not None
    order = delivered_license_order(acme_user.manufacturer, number="LIC-OLD-0001")
    delivery = take(order, acme_user, 30)
    token_file = ready(delivery)
    csv_before = (token_file.sha256, file_bytes(token_file))
    # As it was before this change: a READY file with its CSV only.
    for workbook in token_file.workbooks.all():
        storages["private"].delete(workbook.storage_name)
    TokenWorkbook.objects.filter(token_file=token_file).delete()
    url = reverse("tokens:download_file", args=[delivery.pk, "xlsx", 1])
    missing = acme_client.get(url)
    assert missing.status_code == 409
    assert "has not been made yet" in missing.content.decode()
    assert (
        "Excel (.xlsx): not made yet"
        in acme_client.get(
            reverse("deliveries:order_delivery_list", args=[order.number])
        ).content.decode()
    )

    out = io.StringIO()
    call_command("make_token_workbooks", stdout=out)
    assert "1 token file(s) given" in out.getvalue()
    again = io.StringIO()
    call_command("make_token_workbooks", stdout=again)
    assert "0 token file(s) given" in again.getvalue()

    token_file.refresh_from_db()
    (workbook,) = token_file.workbooks.all()
    path = saved(tmp_path, workbook.file_name, stored_bytes(workbook.storage_name))
    assert tyutool_v2_tokens(path) == tokens_of(delivery)
    assert (token_file.sha256, file_bytes(token_file)) == csv_before  # the CSV is untouched
    assert AuditEvent.objects.filter(action="tokens.workbooks_made").count() == 1
    assert acme_client.get(url).status_code == 200


def test_csv_is_utf8_comma_crlf_with_a_header_and_no_bom(
    seed_order: PurchaseOrder, acme_user: User
) -> None:
    data = file_bytes(ready(take(seed_order, acme_user, 3)))
    lines = data.split(b"\r\n")
    assert lines[0] == b"uuid,authkey,Order number,Delivery number,Product ID"
    assert lines[-1] == b""
    assert len(lines) == 5
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert csv_rows(data)[0] == list(FILE_HEADER)
