"""Retention of token files (tokens.retention, docs/scale.md): archive, then make again."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.storage import storages
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent
from orders.models import PurchaseOrder
from refurb_portal.writers import TOKEN_FILE_RETENTION, service_writes
from tests.tokens.conftest import file_bytes, ready, take
from tokens import generation
from tokens.errors import TokenFileError
from tokens.models import TokenDownload, TokenFile
from tokens.retention import token_file_restore, token_files_purge

pytestmark = pytest.mark.django_db

LATER = dt.timedelta(days=31)


@pytest.fixture
def restores(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The restore jobs asked for (sent to the broker after the commit)."""
    from tokens import tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks.token_file_restore, "delay", sent.append)
    return sent


@pytest.fixture
def thirty_days(settings: Any) -> None:
    settings.TOKEN_FILE_RETENTION_DAYS = 30


def stored_names(token_file: TokenFile) -> list[str]:
    return [token_file.storage_name, *token_file.workbooks.values_list("storage_name", flat=True)]


def test_nothing_is_archived_while_retention_is_off(
    seed_order: PurchaseOrder, acme_user: User, settings: Any
) -> None:
    settings.TOKEN_FILE_RETENTION_DAYS = 0
    ready(take(seed_order, acme_user, 10))
    assert token_files_purge(now=timezone.now() + dt.timedelta(days=3650)) == []


@pytest.mark.usefixtures("thirty_days")
def test_an_old_file_is_archived_and_made_again_byte_for_byte_on_download(
    acme_client: Client,
    seed_order: PurchaseOrder,
    acme_user: User,
    restores: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = take(seed_order, acme_user, 120)
    token_file = ready(delivery)
    original = {
        name: storages["private"].open(name, "rb").read() for name in stored_names(token_file)
    }
    assert token_files_purge(now=timezone.now() + dt.timedelta(days=29)) == []  # not yet
    with django_capture_on_commit_callbacks(execute=True):
        assert token_files_purge(now=timezone.now() + LATER) == [token_file.pk]
    token_file.refresh_from_db()
    assert token_file.purged_at is not None
    assert token_file.status == TokenFile.Status.READY  # still delivered, still counted
    assert not any(storages["private"].exists(name) for name in original)
    assert AuditEvent.objects.filter(action="tokens.file_archived").count() == 1

    url = reverse("tokens:download", args=[delivery.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_client.get(url)
    assert response.status_code == 409
    assert "archived" in response.content.decode()
    assert restores == [token_file.pk]
    assert not TokenDownload.objects.exists()

    assert token_file_restore(token_file_id=token_file.pk) is True
    assert token_file_restore(token_file_id=token_file.pk) is False  # a second one: nothing
    token_file.refresh_from_db()
    assert token_file.purged_at is None
    assert {name: storages["private"].open(name, "rb").read() for name in original} == original
    response = acme_client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == file_bytes(token_file)
    assert AuditEvent.objects.filter(action="tokens.file_restored").count() == 1


@pytest.mark.usefixtures("thirty_days")
def test_a_file_downloaded_within_the_retention_age_is_kept(
    seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 10)
    token_file = ready(delivery)
    TokenDownload.objects.create(
        token_file=token_file, user=acme_user, downloaded_at=timezone.now() + dt.timedelta(days=20)
    )
    assert token_files_purge(now=timezone.now() + LATER) == []
    assert storages["private"].exists(token_file.storage_name)


@pytest.mark.usefixtures("thirty_days")
def test_the_order_zip_of_an_archived_file_asks_for_it_again(
    acme_client: Client,
    seed_order: PurchaseOrder,
    acme_user: User,
    restores: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    token_file = ready(take(seed_order, acme_user, 10))
    token_files_purge(now=timezone.now() + LATER)
    url = reverse("tokens:order_download", args=[seed_order.number, "csv"])
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_client.get(url)
    assert response.status_code == 409
    assert restores == [token_file.pk]
    assert not TokenDownload.objects.exists()


@pytest.mark.usefixtures("thirty_days")
def test_a_file_made_again_with_other_bytes_is_not_stored(
    seed_order: PurchaseOrder,
    acme_user: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    token_file = ready(take(seed_order, acme_user, 10))
    with django_capture_on_commit_callbacks(execute=True):
        token_files_purge(now=timezone.now() + LATER)
    real = generation._write_csv

    def other_bytes(*args: Any, **kwargs: Any) -> generation.WrittenFile:
        written = real(*args, **kwargs)
        return generation.WrittenFile(rows=written.rows, size=written.size, sha256="0" * 64)

    monkeypatch.setattr("tokens.retention._write_csv", other_bytes)
    with pytest.raises(TokenFileError) as raised:
        token_file_restore(token_file_id=token_file.pk)
    assert raised.value.code == "restore_mismatch"
    token_file.refresh_from_db()
    assert token_file.purged_at is not None  # still archived
    assert not storages["private"].exists(token_file.storage_name)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE tokens_tokenfile SET sha256 = repeat('0', 64) WHERE id = %s",
        "UPDATE tokens_tokenfile SET purged_at = now(), status = 'failed' WHERE id = %s",
        "DELETE FROM tokens_tokenfile WHERE id = %s",
    ],
)
def test_postgresql_lets_retention_change_only_when_a_file_was_archived(
    seed_order: PurchaseOrder, acme_user: User, sql: str
) -> None:
    token_file = ready(take(seed_order, acme_user, 10))
    with (
        pytest.raises(DatabaseError),
        transaction.atomic(),
        service_writes(TOKEN_FILE_RETENTION),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [token_file.pk])
    with transaction.atomic(), service_writes(TOKEN_FILE_RETENTION), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tokens_tokenfile SET purged_at = now() WHERE id = %s", [token_file.pk]
        )
        assert cursor.rowcount == 1
    # Nobody else may archive a file.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tokens_tokenfile SET purged_at = NULL WHERE id = %s", [token_file.pk]
        )
