"""Targeted new deliveries (issue #16): a list of old UUIDs, checked line by line, taken with
the old tokens marked replaced in the same transaction, and the files pairing new with old."""

from __future__ import annotations

import csv
import io
import shutil
import threading
import uuid
from collections.abc import Iterator
from functools import partial

import openpyxl
import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.db import connection
from django.utils import translation
from pytest_django.fixtures import Settings

from accounts.models import Manufacturer, User
from deliveries.errors import DeliveryError
from deliveries.models import NewDelivery
from deliveries.old_uuids import (
    OldUuidList,
    old_uuid_list_check,
    old_uuid_list_store,
    old_uuid_problems_csv,
    read_lines,
)
from deliveries.services import new_delivery_take, new_delivery_void
from orders.models import PurchaseOrder
from refurb_portal.invariants import invariant_violations
from tests.conftest import delivered_license_order
from tests.private_storage import remove_all, s3_enabled
from tests.threads import barrier, run_in_threads
from tokens.generation import token_file_generate
from tokens.models import Token, TokenFile

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _remove_stored_files() -> Iterator[None]:
    yield
    for folder in ("token-files", "old-uuid-lists"):
        if s3_enabled():
            remove_all(storages["private"], folder)
        else:
            shutil.rmtree(settings.PRIVATE_STORAGE_ROOT / folder, ignore_errors=True)


def order_with_tokens(
    manufacturer: Manufacturer, *, delivered: int = 1000, **kw: object
) -> PurchaseOrder:
    """A license order whose original delivery of ``delivered`` tokens has been made."""
    order = delivered_license_order(manufacturer, ordered=delivered, delivered=delivered, **kw)
    original_file = TokenFile.objects.get(original_delivery__order=order)
    made = token_file_generate(token_file_id=original_file.pk)
    assert made is not None
    assert made.status == TokenFile.Status.READY
    return order


def uuids_of(order: PurchaseOrder) -> list[str]:
    return list(Token.objects.filter(order=order).order_by("id").values_list("uuid", flat=True))


def stored(order: PurchaseOrder, values: list[str]) -> str:
    return old_uuid_list_store(order_id=order.pk, lines=enumerate(values, start=1))


def targeted_take(
    order: PurchaseOrder, user: User, key: str, quantity: int, *, valid_only: bool = False
) -> NewDelivery:
    return new_delivery_take(
        order_id=order.pk,
        product_id=order.products.order_by("pk").values_list("pk", flat=True)[0],
        quantity=quantity,
        user=user,
        idempotency_key=uuid.uuid4(),
        old_uuids=OldUuidList(key=key, valid_only=valid_only),
    ).delivery


def made(delivery: NewDelivery) -> TokenFile:
    token_file = token_file_generate(token_file_id=TokenFile.objects.get(delivery=delivery).pk)
    assert token_file is not None
    assert token_file.status == TokenFile.Status.READY
    return token_file


def read(name: str) -> bytes:
    with storages["private"].open(name, "rb") as handle:
        return handle.read()


def test_the_issue_example_600_of_1000_replaced_and_a_second_list_refused_line_by_line(
    acme: Manufacturer, acme_user: User
) -> None:
    order = order_with_tokens(acme, delivered=1000, number="LIC-TARGET")
    old = uuids_of(order)
    assert len(old) == 1000
    listed = old[100:700]
    key = stored(order, listed)
    check = old_uuid_list_check(order_id=order.pk, key=key)
    assert (check.lines, check.valid, check.problems) == (600, 600, [])

    delivery = targeted_take(order, acme_user, key, 600)
    token_file = made(delivery)

    rows = list(csv.reader(io.StringIO(read(token_file.storage_name).decode(), newline="")))
    assert rows[0] == [
        "uuid",
        "authkey",
        "Order number",
        "Delivery number",
        "Product ID",
        "old uuid",
    ]
    assert [row[5] for row in rows[1:]] == listed  # each new token beside the old one, in order
    workbook = openpyxl.load_workbook(
        io.BytesIO(read(token_file.workbooks.get().storage_name)), read_only=True
    )
    sheet_rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert sheet_rows[0][5] == "old uuid"
    assert [row[5] for row in sheet_rows[1:]] == listed
    assert [row[0] for row in sheet_rows[1:]] == [row[0] for row in rows[1:]]

    replaced = Token.objects.filter(uuid__in=listed)
    assert set(replaced.values_list("status", flat=True)) == {Token.Status.REPLACED}
    assert not replaced.filter(retired_at__isnull=True).exists()
    pairs = dict(Token.objects.filter(delivery=delivery).values_list("uuid", "replaces__uuid"))
    assert sorted(pairs.values()) == sorted(listed)
    assert Token.objects.filter(uuid__in=old[:100] + old[700:], status="issued").count() == 400
    assert invariant_violations() == []

    again = old[95:100] + old[100:110]  # five still issued, ten already replaced
    second = stored(order, again)
    check = old_uuid_list_check(order_id=order.pk, key=second)
    assert check.valid == 5
    assert [(p.line, p.value, p.kind) for p in check.problems] == [
        (line, value, "replaced") for line, value in enumerate(again[5:], start=6)
    ]
    with pytest.raises(DeliveryError) as refused:
        targeted_take(order, acme_user, second, 5)
    assert refused.value.code == "old_uuids_problems"
    assert NewDelivery.objects.filter(order=order).count() == 1
    assert Token.objects.filter(uuid__in=old[95:100], status="issued").count() == 5


def _bad_lines(
    acme: Manufacturer, globex: Manufacturer, acme_user: User
) -> tuple[PurchaseOrder, dict[str, str]]:
    """An order with tokens, and one value of each kind of bad line."""
    order = order_with_tokens(acme, delivered=20, number="LIC-BAD")
    other_order = order_with_tokens(acme, delivered=2, number="LIC-OTHER")
    stranger = order_with_tokens(globex, delivered=2, number="LIC-GLOBEX")
    old = uuids_of(order)
    targeted_take(order, acme_user, stored(order, [old[0]]), 1)
    revoked = new_delivery_take(
        order_id=order.pk,
        product_id=order.products.order_by("pk").values_list("pk", flat=True)[0],
        quantity=1,
        user=acme_user,
        idempotency_key=uuid.uuid4(),
    ).delivery
    made(revoked)
    new_delivery_void(delivery_id=revoked.pk, user=acme_user, reason="typing slip")
    return order, {
        "malformed": "NOT-A-UUID",
        "unknown": "a" * 20,
        "another order": uuids_of(other_order)[0],
        "another manufacturer": uuids_of(stranger)[0],
        "duplicate": old[5],
        "replaced": old[0],
        "revoked": Token.objects.get(delivery=revoked).uuid,
    }


EXPECTED = {
    "malformed": ("malformed", "malformed (not 20 letters a-z and digits)", "格式错误"),
    "unknown": ("unknown", "unknown (no token of this order)", "未知"),
    "another order": ("unknown", "unknown (no token of this order)", "未知"),
    "another manufacturer": ("unknown", "unknown (no token of this order)", "未知"),
    "duplicate": ("duplicate", "duplicated in the list", "重复"),
    "replaced": ("replaced", "already replaced", "已被替换"),
    "revoked": ("revoked", "revoked (its delivery was voided or reversed)", "已吊销"),
}


@pytest.mark.parametrize("kind", list(EXPECTED))
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_each_kind_of_bad_line_is_reported_with_its_line(
    acme: Manufacturer, globex: Manufacturer, acme_user: User, kind: str, language: str
) -> None:
    order, bad = _bad_lines(acme, globex, acme_user)
    good = uuids_of(order)[5]
    values = [good, bad[kind]] if kind != "duplicate" else [good, good]
    check = old_uuid_list_check(order_id=order.pk, key=stored(order, values))
    code, english, chinese = EXPECTED[kind]
    assert (check.lines, check.valid) == (2, 1)
    [problem] = check.problems
    assert (problem.line, problem.kind) == (2, code)
    with translation.override(language):
        assert (english if language == "en" else chinese) in problem.label
        assert problem.label in dict(check.summary)
    if kind == "duplicate":
        assert problem.first_line == 1
    # Nothing is taken while it remains, unless the valid lines only are asked for.
    with pytest.raises(DeliveryError) as refused, translation.override(language):
        targeted_take(order, acme_user, check.key, 1)
    assert refused.value.code == "old_uuids_problems"
    with translation.override(language):
        assert ("nothing was taken" if language == "en" else "未领取") in refused.value.message
    delivery = targeted_take(order, acme_user, check.key, 1, valid_only=True)
    assert Token.objects.get(uuid=good).status == Token.Status.REPLACED
    assert delivery.quantity == 1


def test_the_problem_list_downloads_whole_as_csv(acme: Manufacturer, acme_user: User) -> None:
    order = order_with_tokens(acme, delivered=3, number="LIC-CSV")
    values = [f"=BAD{i}" for i in range(150)] + uuids_of(order)
    key = stored(order, values)
    check = old_uuid_list_check(order_id=order.pk, key=key)
    assert (check.valid, check.problem_count, len(check.problems)) == (3, 150, 100)
    rows = list(csv.reader(io.StringIO("".join(old_uuid_problems_csv(order_id=order.pk, key=key)))))
    assert rows[0] == ["line", "value", "problem", "first line"]
    assert len(rows) == 151
    assert rows[1] == ["1", "'=BAD0", "malformed", ""]  # neutralised: no formula


def test_a_list_of_another_order_reads_as_expired(acme: Manufacturer) -> None:
    order = order_with_tokens(acme, delivered=2, number="LIC-MINE")
    other = order_with_tokens(acme, delivered=2, number="LIC-YOURS")
    key = stored(order, uuids_of(order))
    with pytest.raises(DeliveryError) as refused:
        old_uuid_list_check(order_id=other.pk, key=key)
    assert refused.value.code == "old_uuids_expired"


def _xlsx(rows: list[list[object]]) -> io.BytesIO:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    return out


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("list.txt", b"aaa\n\n  bbb  \nccc\n", [(1, "aaa"), (3, "bbb"), (4, "ccc")]),
        ("list.csv", b"\xef\xbb\xbfname,UUID\nx,aaa\ny,bbb\n", [(2, "aaa"), (3, "bbb")]),
        ("paste", b"Uuid\r\naaa\r\n", [(2, "aaa")]),
        (
            "list.xlsx",
            _xlsx([["n", "uuid"], [1, "aaa"], [2, None], [3, "bbb"]]),
            [(2, "aaa"), (4, "bbb")],
        ),
        ("LIST.XLSX", _xlsx([["aaa"], ["bbb"]]), [(1, "aaa"), (2, "bbb")]),
    ],
)
def test_lists_are_read_by_column_or_one_value_a_line(
    name: str, content: bytes | io.BytesIO, expected: list[tuple[int, str]]
) -> None:
    stream = content if isinstance(content, io.BytesIO) else io.BytesIO(content)
    assert list(read_lines(stream, name=name)) == expected


def test_a_list_over_the_limit_is_refused(settings: Settings) -> None:
    settings.OLD_UUID_LIST_MAX_LINES = 3
    with pytest.raises(DeliveryError) as refused:
        list(read_lines(io.BytesIO(b"a\nb\nc\nd\n"), name="x.txt"))
    assert refused.value.code == "old_uuids_too_long"
    assert list(read_lines(io.BytesIO(b"a\nb\n\nc\n"), name="x.txt")) == [
        (1, "a"),
        (2, "b"),
        (4, "c"),
    ]


def test_a_void_issues_the_old_tokens_again_and_they_may_be_listed_again(
    acme: Manufacturer, acme_user: User
) -> None:
    order = order_with_tokens(acme, delivered=10, number="LIC-VOIDT")
    old = uuids_of(order)[:4]
    delivery = targeted_take(order, acme_user, stored(order, old), 4)
    made(delivery)
    new_delivery_void(delivery_id=delivery.pk, user=acme_user, reason="wrong modules")
    assert set(Token.objects.filter(uuid__in=old).values_list("status", flat=True)) == {"issued"}
    assert not Token.objects.filter(delivery=delivery, replaces__isnull=False).exists()
    assert invariant_violations() == []
    again = targeted_take(order, acme_user, stored(order, old), 4)
    made(again)
    assert invariant_violations() == []


def _race_attempt(
    order: PurchaseOrder,
    user: User,
    key: str,
    start: threading.Barrier,
    outcomes: list[str],
) -> None:
    try:
        start.wait()
        targeted_take(order, user, key, 2)
        outcomes.append("taken")
    except DeliveryError as exc:
        outcomes.append(exc.code)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_race_one_shared_old_uuid_in_50_lists_goes_into_exactly_one_delivery(
    acme: Manufacturer, acme_user: User, settings: Settings
) -> None:
    # Bounded far above a round's wait so that a waiter is never answered "busy" on a loaded
    # machine (a verdict on the machine, not on the lock); a lock never released still fails.
    settings.ROW_LOCK_TIMEOUT_MS = 60_000
    threads, rounds = 50, 3
    order = order_with_tokens(acme, delivered=threads * rounds + rounds, number="LIC-RACE")
    old = uuids_of(order)
    for round_ in range(rounds):
        shared = old[round_]
        own = old[rounds + round_ * threads : rounds + (round_ + 1) * threads]
        keys = [stored(order, [mine, shared]) for mine in own]
        start = barrier(threads)
        outcomes: list[str] = []
        run_in_threads(
            [partial(_race_attempt, order, acme_user, key, start, outcomes) for key in keys]
        )
        assert sorted(set(outcomes)) == ["old_uuids_problems", "taken"]
        assert outcomes.count("taken") == 1
        holder = Token.objects.get(uuid=shared).replacement.delivery
        assert holder.quantity == 2
        assert Token.objects.get(uuid=shared).status == Token.Status.REPLACED
        assert invariant_violations() == []
