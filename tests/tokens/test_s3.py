"""Private storage on a real S3 server (SeaweedFS): the job's multipart write, streamed and
presigned downloads. Under ``make test`` the run's own server is used (its bucket is set);
otherwise these tests start one of their own for the session."""

from __future__ import annotations

import hashlib
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.storage import storages
from django.test import Client, RequestFactory
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import User
from audit.models import AuditEvent
from orders.models import PurchaseOrder
from refurb_portal import private_files
from refurb_portal.settings.base import private_s3_storage
from tests.tokens.conftest import file_of, take
from tokens.generation import token_file_generate
from tokens.models import TokenDownload, TokenFile
from tools.seaweedfs import seaweedfs_s3

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="session")
def s3_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    if os.environ.get("PRIVATE_STORAGE_S3_BUCKET"):
        yield {
            key: os.environ[key]
            for key in (
                "PRIVATE_STORAGE_S3_BUCKET",
                "PRIVATE_STORAGE_S3_ENDPOINT_URL",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
            )
        }
        return
    with seaweedfs_s3(log_dir=tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server.env()


@pytest.fixture
def s3(settings: SettingsWrapper, s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Private storage in the S3 bucket, under a prefix of this test; the boto3 client."""
    for key, value in s3_env.items():
        monkeypatch.setenv(key, value)
    entry = private_s3_storage(
        s3_env["PRIVATE_STORAGE_S3_BUCKET"], location=f"s3-tests/{uuid.uuid4().hex}"
    )
    settings.STORAGES = {**settings.STORAGES, "private": entry}
    storage = storages["private"]
    assert private_files.is_s3(storage)
    yield storage
    for name in storage.listdir("token-files")[0]:
        for file in storage.listdir(f"token-files/{name}")[1]:
            storage.delete(f"token-files/{name}/{file}")


def client_of(storage: Any) -> Any:
    return storage.connection.meta.client


def ready_file(order: PurchaseOrder, user: User, quantity: int = 5) -> TokenFile:
    delivery = take(order, user, quantity)
    token_file = token_file_generate(token_file_id=file_of(delivery).pk)
    assert token_file is not None
    assert token_file.status == TokenFile.Status.READY
    return token_file


def fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 (our own server)
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read(), dict(refused.headers)


def test_the_job_writes_its_file_into_the_bucket(
    s3: Any, seed_order: PurchaseOrder, acme_user: User
) -> None:
    token_file = ready_file(seed_order, acme_user, 40)
    key = f"{s3.location}/{token_file.storage_name}"
    stored = client_of(s3).get_object(Bucket=s3.bucket_name, Key=key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == token_file.sha256
    assert len(stored) == token_file.size_bytes
    # The CSV and the workbooks only: the temporary key of the upload went after the copy.
    stored = s3.listdir(f"token-files/{token_file.pk}")[1]
    assert token_file.storage_name.rsplit("/")[-1] in stored
    assert [name for name in stored if not name.endswith((".csv", ".xlsx"))] == []
    assert len([name for name in stored if name.endswith(".csv")]) == 1


def test_a_large_file_goes_up_in_parts_and_a_failed_one_leaves_nothing(s3: Any) -> None:
    data = os.urandom(private_files.S3_PART_BYTES * 2 + 12345)
    with private_files.private_file_writer(s3, folder="big") as out:
        for start in range(0, len(data), 1 << 20):
            out.write(data[start : start + (1 << 20)])
        assert out.save_as("big/file.bin") == "big/file.bin"
    client = client_of(s3)
    head = client.head_object(Bucket=s3.bucket_name, Key=f"{s3.location}/big/file.bin")
    assert head["ContentLength"] == len(data)
    with s3.open("big/file.bin", "rb") as handle:
        assert hashlib.sha256(handle.read()).digest() == hashlib.sha256(data).digest()

    def dies_after_two_parts() -> None:
        with private_files.private_file_writer(s3, folder="big") as out:
            out.write(data)
            raise RuntimeError("the job died")

    with pytest.raises(RuntimeError):
        dies_after_two_parts()
    assert s3.listdir("big")[1] == ["file.bin"]
    uploads = client.list_multipart_uploads(Bucket=s3.bucket_name, Prefix=s3.location)
    assert uploads.get("Uploads", []) == []
    s3.delete("big/file.bin")


def test_a_download_streams_from_the_bucket(
    s3: Any, seed_order: PurchaseOrder, acme_user: User, acme_client: Client
) -> None:
    token_file = ready_file(seed_order, acme_user)
    response = acme_client.get(reverse("tokens:download", args=[token_file.delivery_id]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert hashlib.sha256(body).hexdigest() == token_file.sha256
    assert response["Content-Length"] == str(token_file.size_bytes)
    assert response["Cache-Control"] == "no-store"


def test_the_order_zip_and_an_api_range_stream_from_the_bucket_without_a_whole_copy(
    s3: Any,
    seed_order: PurchaseOrder,
    acme_user: User,
    acme_client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """django-storages' ``open`` reads an object whole into a temporary file before the first
    byte: the ZIP and the API's ranges read the object's body (or its range) instead."""
    import io
    import zipfile

    from api.downloads import token_file_stream

    token_file = ready_file(seed_order, acme_user, 40)

    def whole_copy(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read through the storage's open(): a whole copy first")

    monkeypatch.setattr(type(s3), "open", whole_copy)
    response = acme_client.get(reverse("tokens:order_download", args=[seed_order.number, "csv"]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    member = archive.read(token_file.file_name)
    assert hashlib.sha256(member).hexdigest() == token_file.sha256
    request = RequestFactory().get("/", HTTP_RANGE="bytes=100-199")
    ranged = token_file_stream(request=request, token_file=token_file, user=acme_user)
    assert ranged.status_code == 206
    assert b"".join(ranged.streaming_content) == member[100:200]  # type: ignore[attr-defined]


def test_a_presigned_download_is_checked_recorded_works_and_expires(
    s3: Any,
    settings: SettingsWrapper,
    seed_order: PurchaseOrder,
    acme_user: User,
    acme_client: Client,
    globex_client: Client,
) -> None:
    settings.PRIVATE_STORAGE_DOWNLOAD = "redirect"
    settings.PRIVATE_STORAGE_URL_EXPIRE_SECONDS = 2
    token_file = ready_file(seed_order, acme_user)
    url = reverse("tokens:download", args=[token_file.delivery_id])
    # The access check comes first: another manufacturer gets no URL.
    assert globex_client.get(url).status_code == 404
    response = acme_client.get(url)
    assert response.status_code == 302
    assert response["Cache-Control"] == "no-store"
    # Recorded before the redirect, like a streamed download.
    assert TokenDownload.objects.filter(token_file=token_file, user=acme_user).count() == 1
    assert AuditEvent.objects.filter(action="tokens.downloaded").count() == 1
    presigned = response["Location"]
    status, body, headers = fetch(presigned)
    assert status == 200
    assert hashlib.sha256(body).hexdigest() == token_file.sha256
    assert "attachment" in headers.get("Content-Disposition", "")
    # The bucket is private: the same object without the signature is refused.
    assert fetch(presigned.split("?")[0])[0] == 403
    # Past its lifetime the URL no longer works (S3 counts the expiry in whole seconds).
    deadline = time.monotonic() + 30
    while fetch(presigned)[0] == 200:
        assert time.monotonic() < deadline, "the presigned URL never expired"
        time.sleep(0.5)
    assert fetch(presigned)[0] == 403


def test_a_file_missing_from_the_bucket_is_a_clear_503(
    s3: Any, seed_order: PurchaseOrder, acme_user: User, acme_client: Client
) -> None:
    token_file = ready_file(seed_order, acme_user)
    s3.delete(token_file.storage_name)
    response = acme_client.get(reverse("tokens:download", args=[token_file.delivery_id]))
    assert response.status_code == 503
    assert not TokenDownload.objects.filter(token_file=token_file).exists()
