"""The token file job, called in this process against PostgreSQL (the worker tests run it in a
real Celery worker). Transactions are real: the job commits, other connections look on."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from defusedcsv import csv as defusedcsv
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from pytest_django.fixtures import Settings

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from orders.services import original_delivery_record
from tests.conftest import delivered_license_order
from tests.factories import ProductFactory, PurchaseOrderFactory
from tests.threads import HANG_TIMEOUT_SECONDS, barrier, join_all, run_in_threads, start_all
from tests.tokens.conftest import csv_rows, file_bytes, file_of, take
from tokens import generation
from tokens.errors import TokenFileError
from tokens.generation import CSV_HEADER, new_token_values, token_file_generate
from tokens.models import Token, TokenFile
from tokens.services import token_file_retry

pytestmark = pytest.mark.django_db(transaction=True)

UUID_SHAPE = re.compile(r"^[a-z0-9]{20}$")
AUTH_KEY_SHAPE = re.compile(r"^[A-Za-z0-9]{32}$")
POLL_SECONDS = 0.05


def generate(delivery: NewDelivery) -> TokenFile:
    token_file = token_file_generate(token_file_id=file_of(delivery).pk)
    assert token_file is not None
    return token_file


def token_ids(delivery: NewDelivery) -> list[int]:
    return list(
        Token.objects.filter(delivery=delivery).order_by("serial").values_list("pk", flat=True)
    )


@contextmanager
def other_connection() -> Iterator[object]:
    """A second database session, as another process would have."""
    db = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        yield db
    finally:
        db.close()


def test_pending_to_ready_with_n_unique_well_formed_tokens(
    seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 250)
    assert file_of(delivery).status == TokenFile.Status.PENDING

    token_file = generate(delivery)

    assert token_file.status == TokenFile.Status.READY
    assert (token_file.total, token_file.done, token_file.row_count) == (250, 250, 250)
    assert token_file.attempts == 1
    data = file_bytes(token_file)
    assert token_file.size_bytes == len(data)
    assert token_file.sha256 == hashlib.sha256(data).hexdigest()
    rows = csv_rows(data)
    assert tuple(rows[0]) == CSV_HEADER
    body = rows[1:]
    assert len(body) == 250
    product_id = delivery.product.product_id
    assert {(r[2], r[3], r[4]) for r in body} == {("LIC-2026-0001", "N001", product_id)}
    uuids = [r[0] for r in body]
    keys = [r[1] for r in body]
    assert all(UUID_SHAPE.match(u) for u in uuids)
    assert all(AUTH_KEY_SHAPE.match(k) for k in keys)
    assert len(set(uuids)) == 250
    assert len(set(keys)) == 250
    # The file lists exactly the delivery's tokens, in serial order.
    stored = list(
        Token.objects.filter(delivery=delivery).order_by("serial").values_list("uuid", "auth_key")
    )
    assert stored == list(zip(uuids, keys, strict=True))
    assert data.startswith(b"uuid,authkey,Order number,Delivery number,Product ID\r\n")
    assert not data.startswith(b"\xef\xbb\xbf")  # no BOM: mfg_gen would read it into "uuid"
    assert (
        AuditEvent.objects.filter(action="tokens.file_ready", object_id=str(token_file.pk)).count()
        == 1
    )


def test_token_values_are_uniform_over_their_alphabets() -> None:
    uuids, keys = new_token_values(2000)
    uuid_chars = "".join(uuids)
    key_chars = "".join(keys)
    assert set(uuid_chars) == set("abcdefghijklmnopqrstuvwxyz0123456789")
    assert set(key_chars) == set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    # 40,000 and 64,000 draws: each character within a generous band around its expectation.
    for chars, alphabet_size in ((uuid_chars, 36), (key_chars, 62)):
        expected = len(chars) / alphabet_size
        counts = [chars.count(c) for c in set(chars)]
        assert min(counts) > expected * 0.8
        assert max(counts) < expected * 1.2


def test_progress_is_visible_to_other_sessions_while_the_insert_is_open(
    seed_order: PurchaseOrder, acme_user: User, settings: Settings
) -> None:
    """Batches of 100; another session holds serial 201, so the job waits inside its third
    batch. Meanwhile a third session sees done = 200 and the heartbeat, and no token at all
    (they are not committed). Released, the job completes with exactly the quantity."""
    settings.TOKEN_FILE_BATCH_SIZE = 100
    delivery = take(seed_order, acme_user, 350)
    token_file = file_of(delivery)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            token_file_generate(token_file_id=token_file.pk)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            connection.close()

    with other_connection() as blocker, other_connection() as observer:
        blocker.set_autocommit(False)
        with blocker.cursor() as cursor:
            cursor.execute(
                "INSERT INTO tokens_token (delivery_id, product_id, serial, uuid, auth_key) "
                "VALUES (%s, %s, 201, %s, %s)",
                [delivery.pk, delivery.product_id, "x" * 20, "X" * 32],
            )
        [job] = start_all([run])
        seen: tuple[str, int, int] | None = None
        # Polled until the job reaches the held serial (or ends): how long that takes is the
        # machine's business, so the poll is bounded only by the hang timeout.
        polls = int(HANG_TIMEOUT_SECONDS / POLL_SECONDS)
        for _ in range(polls):
            with observer.cursor() as cursor:
                cursor.execute(
                    "SELECT status, done, "
                    "(SELECT count(*) FROM tokens_token WHERE delivery_id = %s) "
                    "FROM tokens_tokenfile WHERE id = %s",
                    [delivery.pk, token_file.pk],
                )
                seen = cursor.fetchone()
            if (seen is not None and seen[1] == 200) or not job.is_alive():
                break
            threading.Event().wait(POLL_SECONDS)
        heartbeat_seen = TokenFile.objects.get(pk=token_file.pk).heartbeat_at
        blocker.rollback()
        join_all([job])
    assert not errors
    assert seen == ("generating", 200, 0)
    assert heartbeat_seen is not None
    token_file.refresh_from_db()
    assert token_file.status == TokenFile.Status.READY
    assert Token.objects.filter(delivery=delivery).count() == 350


def test_progress_writes_every_new_count_but_a_bare_heartbeat_at_most_once_a_second(
    seed_order: PurchaseOrder, acme_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = file_of(take(seed_order, acme_user, 10))
    TokenFile.objects.filter(pk=token_file.pk).update(status=TokenFile.Status.GENERATING)
    clock = [1000.0]
    monkeypatch.setattr(generation.time, "monotonic", lambda: clock[0])

    def state() -> tuple[datetime, int]:
        row = TokenFile.objects.values_list("heartbeat_at", "done").get(pk=token_file.pk)
        assert row[0] is not None
        return row[0], row[1]

    progress = generation._Progress(token_file.pk)
    try:
        progress.beat()
        first, _ = state()
        clock[0] += 0.5
        progress.beat()
        assert state() == (first, 0)  # too soon: not written
        progress.beat(done=4)
        second, done = state()
        assert done == 4  # a new count is always written
        assert second > first
        clock[0] += 0.6
        progress.beat()
        assert state() == (second, 4)  # 0.6 s since the last write
        clock[0] += 0.5
        progress.beat()
        assert state()[0] > second
    finally:
        progress.close()


def test_run_twice_serially_gives_one_set_and_the_same_bytes(
    seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 120)
    first = generate(delivery)
    first_bytes = file_bytes(first)
    first_tokens = token_ids(delivery)
    (first_workbook,) = first.workbooks.values_list("sha256", flat=True)

    again = generate(delivery)  # READY: returns at once
    assert (again.attempts, again.sha256, again.storage_name) == (
        1,
        first.sha256,
        first.storage_name,
    )
    assert token_ids(delivery) == first_tokens

    # The job run again over a delivery that holds its tokens (its file lost, its row reset by
    # hand) keeps those tokens and writes the very same bytes.
    storages["private"].delete(first.storage_name)
    TokenFile.objects.filter(pk=first.pk).update(status=TokenFile.Status.PENDING)
    rebuilt = generate(delivery)
    assert rebuilt.status == TokenFile.Status.READY
    assert rebuilt.attempts == 2
    assert token_ids(delivery) == first_tokens
    assert file_bytes(rebuilt) == first_bytes
    assert rebuilt.sha256 == first.sha256
    # The .xlsx too: one workbook, the same bytes (its creation time is the delivery's).
    assert list(rebuilt.workbooks.values_list("sha256", flat=True)) == [first_workbook]


@pytest.mark.parametrize("round_number", range(5))
def test_run_concurrently_gives_one_set_and_the_same_bytes(
    acme: Manufacturer, acme_user: User, round_number: int
) -> None:
    """Eight sessions run the same job at the same instant (a barrier releases them)."""
    order = delivered_license_order(acme, ordered=500, delivered=500)
    delivery = take(order, acme_user, 300)
    token_file_id = file_of(delivery).pk
    released = barrier(8)
    results: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            released.wait()
            token_file_generate(token_file_id=token_file_id)
            results.append(TokenFile.objects.get(pk=token_file_id).sha256)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            connection.close()

    run_in_threads([run] * 8)
    assert not errors
    token_file = TokenFile.objects.get(pk=token_file_id)
    assert token_file.status == TokenFile.Status.READY
    # Every session that returned found the one file: those that lost the race waited for none.
    assert len(results) == 8
    assert set(results) <= {token_file.sha256, ""}
    serials = list(Token.objects.filter(delivery=delivery).values_list("serial", flat=True))
    assert sorted(serials) == list(range(1, 301))
    assert hashlib.sha256(file_bytes(token_file)).hexdigest() == token_file.sha256
    assert (
        AuditEvent.objects.filter(action="tokens.file_ready", object_id=str(token_file_id)).count()
        == 1
    )


def test_tokens_never_repeat_across_50_deliveries(acme: Manufacturer, acme_user: User) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=1000)
    uuids: list[str] = []
    keys: list[str] = []
    for _ in range(50):
        delivery = take(order, acme_user, 20)
        body = csv_rows(file_bytes(generate(delivery)))[1:]
        assert len(body) == 20
        uuids += [row[0] for row in body]
        keys += [row[1] for row in body]
    assert len(set(uuids)) == 1000
    assert len(set(keys)) == 1000
    assert Token.objects.count() == 1000


def test_a_collision_with_an_issued_token_makes_the_batch_again(
    seed_order: PurchaseOrder,
    acme_user: User,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The random source is made to repeat an issued UUID once; the database refuses it, the
    batch is made again, and the delivery still gets its exact quantity of new tokens."""
    first = take(seed_order, acme_user, 10)
    generate(first)
    issued = Token.objects.filter(delivery=first).order_by("serial").first()
    assert issued is not None
    real = generation.new_token_values
    calls = []

    def repeating(count: int) -> tuple[list[str], list[str]]:
        uuids, keys = real(count)
        calls.append(count)
        if len(calls) == 1:
            uuids[count // 2] = issued.uuid
        return uuids, keys

    monkeypatch.setattr(generation, "new_token_values", repeating)
    second = take(seed_order, acme_user, 30)
    with caplog.at_level(logging.INFO):
        token_file = generate(second)
    assert token_file.status == TokenFile.Status.READY
    assert len(calls) == 2
    assert Token.objects.filter(delivery=second).count() == 30
    assert Token.objects.filter(uuid=issued.uuid).get().delivery_id == first.pk
    assert "collided" in caplog.text
    assert issued.uuid not in caplog.text


def test_formula_cells_are_neutralised(acme: Manufacturer, acme_user: User) -> None:
    """Order numbers and product IDs cannot start with a formula character at all (their
    CHECK constraints, refurb_portal.identifiers); the file is still written by defusedcsv."""
    for number in ('=HYPERLINK("http://x")', "+1", "-1", "@SUM(A1)", "|cmd", "%0A"):
        with pytest.raises(IntegrityError), transaction.atomic():
            PurchaseOrderFactory(manufacturer=acme, number=number)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(manufacturer=acme, product_id="+cmd|' /C calc'!A0")
    product = ProductFactory(manufacturer=acme, product_id="p.cmd_calc-A0")
    order = PurchaseOrderFactory(manufacturer=acme, number="HYPERLINK.x", products=[product])
    original_delivery_record(order_id=order.pk, quantity=10, user=None)
    delivery = take(order, acme_user, 5)
    data = file_bytes(generate(delivery))
    rows = csv_rows(data)
    for row in rows[1:]:
        assert row[2:] == [order.number, delivery.number, product.product_id]
        assert not any(cell[:1] in {"=", "+", "-", "@", "|", "%"} for cell in row)
    # The job renders the shared cells once; the bytes are those of defusedcsv, row by row.
    expected = io.StringIO()
    writer = defusedcsv.writer(expected)
    writer.writerow(CSV_HEADER)
    for uuid, key in (
        Token.objects.filter(delivery=delivery).order_by("serial").values_list("uuid", "auth_key")
    ):
        writer.writerow((uuid, key, order.number, delivery.number, product.product_id))
    assert data == expected.getvalue().encode("utf-8")


def test_a_failed_job_shows_why_and_a_retry_never_makes_a_second_set(
    seed_order: PurchaseOrder,
    acme_user: User,
    staff_user: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delivery = take(seed_order, acme_user, 40)
    token_file_id = file_of(delivery).pk

    def storage_down(*args: object, **kwargs: object) -> str:
        raise OSError("No space left on device")

    monkeypatch.setattr(generation, "_store", storage_down)
    with pytest.raises(TokenFileError):
        token_file_generate(token_file_id=token_file_id)
    failed = TokenFile.objects.get(pk=token_file_id)
    assert failed.status == TokenFile.Status.FAILED
    assert failed.error == "OSError: No space left on device"
    assert Token.objects.filter(delivery=delivery).count() == 0  # rolled back with the job
    assert AuditEvent.objects.filter(action="tokens.file_failed").count() == 1
    assert token_file_generate(token_file_id=token_file_id).status == TokenFile.Status.FAILED

    monkeypatch.undo()
    token_file_retry(token_file_id=token_file_id, user=staff_user)
    assert TokenFile.objects.get(pk=token_file_id).status == TokenFile.Status.PENDING
    ready = token_file_generate(token_file_id=token_file_id)
    assert ready is not None
    assert ready.status == TokenFile.Status.READY
    tokens = token_ids(delivery)
    assert len(tokens) == 40
    first_bytes = file_bytes(ready)

    # Failed again after its tokens exist (forced here): the retry keeps them, and the bytes.
    TokenFile.objects.filter(pk=token_file_id).update(status=TokenFile.Status.FAILED)
    token_file_retry(token_file_id=token_file_id, user=staff_user)
    again = token_file_generate(token_file_id=token_file_id)
    assert again is not None
    assert again.status == TokenFile.Status.READY
    assert token_ids(delivery) == tokens
    assert file_bytes(again) == first_bytes
    assert AuditEvent.objects.filter(action="tokens.file_retried").count() == 2

    with pytest.raises(TokenFileError) as refused:
        token_file_retry(token_file_id=token_file_id, user=staff_user)
    assert refused.value.code == "not_retryable"


def test_a_job_that_never_finishes_is_failed_after_its_attempts(
    seed_order: PurchaseOrder, acme_user: User, settings: Settings
) -> None:
    settings.TOKEN_FILE_MAX_ATTEMPTS = 3
    delivery = take(seed_order, acme_user, 5)
    TokenFile.objects.filter(delivery=delivery).update(
        status=TokenFile.Status.GENERATING, attempts=3
    )
    token_file = generate(delivery)
    assert token_file.status == TokenFile.Status.FAILED
    assert token_file.error == "Stopped after 3 attempts that did not finish."
    assert Token.objects.filter(delivery=delivery).count() == 0


def test_a_file_left_by_a_dead_attempt_is_removed(
    seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 5)
    token_file = file_of(delivery)
    storage = storages["private"]
    orphan = storage.save(f"token-files/{token_file.pk}/{'0' * 64}.csv", ContentFile(b"partial"))
    ready = generate(delivery)
    assert not storage.exists(orphan)
    kept = {ready.storage_name, *ready.workbooks.values_list("storage_name", flat=True)}
    assert sorted(storage.listdir(f"token-files/{token_file.pk}")[1]) == sorted(
        name.rsplit("/", 1)[1] for name in kept
    )
    assert len(kept) == 2


def test_the_make_run_path_without_copy_or_advisory_locks(
    acme: Manufacturer, acme_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite (make run) takes the bulk_create path; run here on PostgreSQL to check it."""
    monkeypatch.setattr(generation, "_is_postgresql", lambda: False)
    order = delivered_license_order(acme, ordered=2500, delivered=2500)
    delivery = take(order, acme_user, 2500)
    token_file = generate(delivery)
    assert token_file.status == TokenFile.Status.READY
    assert Token.objects.filter(delivery=delivery).count() == 2500
    assert len(csv_rows(file_bytes(token_file))) == 2501


def test_a_missing_job_is_a_no_op() -> None:
    assert token_file_generate(token_file_id=987654321) is None
