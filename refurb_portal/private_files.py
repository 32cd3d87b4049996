"""Private storage (``STORAGES["private"]``): writing a large file, and handing one to a browser.

Private storage is a local folder, or an S3 bucket through django-storages when
``PRIVATE_STORAGE_S3_BUCKET`` is set (settings). Two things differ between them and live here:

- **Writing a file whose name is known only at the end** (the token file is named by its
  SHA-256): ``private_file_writer`` gives a writable binary file. On S3 the bytes go out as a
  multipart upload while they are written (parts of ``S3_PART_BYTES``; memory holds one part,
  nothing is copied to local disk), to a temporary key that ``save_as`` copies to the final name
  inside the object store; locally they go to a temporary file that is saved as today.
- **Downloads**: the view checks access and records the download first, then
  ``private_file_response`` either streams the object through Django (never reading it whole
  into memory) or, with ``PRIVATE_STORAGE_DOWNLOAD = "redirect"`` on S3, answers with a redirect
  to a presigned URL that expires after ``PRIVATE_STORAGE_URL_EXPIRE_SECONDS``.

Another download of private files (the ZIP of an order's token files, say) reads each member
with ``private_file_open(name, allow_redirect=False).stream`` (S3 objects stream, never read
whole) and answers through a ``FileResponse`` with the same headers; ``make test`` runs it
against SeaweedFS like every storage path.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, cast

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.http import FileResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

from refurb_portal import metrics

# S3 wants parts of at least 5 MiB (but the last); 8 MiB keeps a 1,000,000-token file at ~11.
S3_PART_BYTES = 8 * 1024 * 1024


def private_storage() -> Storage:
    return storages["private"]


def is_s3(storage: Storage) -> bool:
    """True for django-storages' S3 backend (duck-typed: it has a bucket and a boto3 client)."""
    return hasattr(storage, "bucket_name") and hasattr(storage, "connection")


def _s3_key(storage: Storage, name: str) -> str:
    location = str(getattr(storage, "location", "") or "").strip("/")
    return f"{location}/{name}" if location else name


def _s3_client(storage: Storage) -> Any:
    return cast(Any, storage).connection.meta.client


class _S3MultipartWriter:
    """A write-only binary file that uploads itself to S3 in parts as it is written."""

    def __init__(self, storage: Storage, name: str) -> None:
        self._storage = storage
        self._client = _s3_client(storage)
        self._bucket = cast(Any, storage).bucket_name
        self.name = name
        self._key = _s3_key(storage, name)
        self._buffer = bytearray()
        self._parts: list[dict[str, object]] = []
        self._upload_id: str | None = None
        self.completed = False

    def write(self, data: bytes) -> int:
        self._buffer += data
        if len(self._buffer) >= S3_PART_BYTES:
            self._upload_part()
        return len(data)

    def _upload_part(self) -> None:
        if self._upload_id is None:
            created = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        answer = self._client.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=bytes(self._buffer),
        )
        self._parts.append({"ETag": answer["ETag"], "PartNumber": number})
        self._buffer.clear()

    def complete(self) -> None:
        """Send the last part and complete the upload (a file under one part: one PUT)."""
        if self._upload_id is None:
            self._client.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer))
        else:
            if self._buffer:
                self._upload_part()
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self._buffer.clear()
        self.completed = True

    def abort(self) -> None:
        """Drop the parts sent so far (S3 keeps them, billed, until aborted)."""
        if self._upload_id is not None and not self.completed:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
            )
        self._buffer.clear()


class PrivateFileWriter:
    """What ``private_file_writer`` yields: ``write(bytes)``, then ``save_as(name)`` once."""

    def __init__(self, storage: Storage, folder: str) -> None:
        self._storage = storage
        self._s3: _S3MultipartWriter | None = None
        self._local: IO[bytes] | None = None
        if is_s3(storage):
            self._s3 = _S3MultipartWriter(storage, f"{folder}/partial-{uuid.uuid4().hex}")
        else:
            self._local = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.saved = False

    def write(self, data: bytes) -> int:
        target: _S3MultipartWriter | IO[bytes] = self._s3 or cast(IO[bytes], self._local)
        return target.write(data)

    def save_as(self, name: str) -> str:
        """Store what was written under ``name``; returns the name it is stored under."""
        if self._s3 is not None:
            self._s3.complete()
            client, bucket = _s3_client(self._storage), cast(Any, self._storage).bucket_name
            # A copy inside the object store (multipart above 8 MiB): no byte comes back here.
            client.copy(
                {"Bucket": bucket, "Key": _s3_key(self._storage, self._s3.name)},
                bucket,
                _s3_key(self._storage, name),
            )
            self._storage.delete(self._s3.name)
            self.saved = True
            return name
        local = cast(IO[bytes], self._local)
        local.seek(0)
        stored = self._storage.save(name, File(local, name=name))
        self.saved = True
        return stored

    def close(self) -> None:
        """Drop whatever was written and not saved (an aborted upload, a temporary file)."""
        if self._s3 is not None:
            if not self._s3.completed:
                self._s3.abort()
            elif not self.saved:
                self._storage.delete(self._s3.name)
        if self._local is not None:
            self._local.close()


@contextmanager
def private_file_writer(storage: Storage, *, folder: str) -> Iterator[PrivateFileWriter]:
    """A binary file to write into private storage under ``folder``; see the module's text.

    Whatever was not ``save_as``-ed when the block ends (an exception, or a file found already
    stored) is dropped. Errors of the store (``OSError``, botocore's) are raised as they come.
    """
    writer = PrivateFileWriter(storage, folder)
    try:
        yield writer
    finally:
        writer.close()


# --- Downloads ------------------------------------------------------------------------------


@dataclass
class OpenedFile:
    """A stored file about to be downloaded: its size, and a stream unless it is redirected."""

    storage_name: str
    size: int
    stream: IO[bytes] | None


def _redirects(storage: Storage) -> bool:
    return settings.PRIVATE_STORAGE_DOWNLOAD == "redirect" and is_s3(storage)


def private_file_open(
    storage_name: str,
    *,
    allow_redirect: bool = True,
    byte_range: tuple[int, int] | None = None,
) -> OpenedFile:
    """Make sure ``storage_name`` is there and open it for streaming (unless downloads redirect
    and ``allow_redirect``: then only its size is read, and ``stream`` is None).

    ``byte_range`` (first, last: inclusive byte offsets, already checked against the size) opens
    only those bytes: the stream starts at ``first`` and ``size`` is the range's length. On S3
    the object's body (or the range of it) is streamed as it arrives (django-storages' ``open``
    would first download it whole). Raises ``FileNotFoundError`` when the file is missing.
    """
    storage = private_storage()
    if is_s3(storage):
        client, bucket = _s3_client(storage), cast(Any, storage).bucket_name
        key = _s3_key(storage, storage_name)
        try:
            if allow_redirect and _redirects(storage) and byte_range is None:
                head = client.head_object(Bucket=bucket, Key=key)
                return OpenedFile(storage_name, int(head["ContentLength"]), None)
            ranged = {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"} if byte_range else {}
            answer = client.get_object(Bucket=bucket, Key=key, **ranged)
        except client.exceptions.ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404:
                raise FileNotFoundError(storage_name) from exc
            raise
        return OpenedFile(storage_name, int(answer["ContentLength"]), answer["Body"])
    handle = storage.open(storage_name, "rb")
    if byte_range is not None:
        handle.seek(byte_range[0])
        return OpenedFile(storage_name, byte_range[1] - byte_range[0] + 1, cast(IO[bytes], handle))
    return OpenedFile(storage_name, int(handle.size or 0), cast(IO[bytes], handle))


def private_file_response(
    opened: OpenedFile, *, file_name: str, content_type: str, kind: str
) -> HttpResponseBase:
    """The download of an opened file, as an attachment no cache keeps (see the module).

    ``kind`` labels the download-bytes metric (``token_file``, ``attachment``, ``tool``).
    Call it only after the access check and the download's record.
    """
    storage = private_storage()
    if opened.stream is None:
        disposition = content_disposition_header(as_attachment=True, filename=file_name)
        url = cast(Any, storage).url(
            opened.storage_name,
            parameters={
                "ResponseContentDisposition": disposition,
                "ResponseContentType": content_type,
                "ResponseCacheControl": "no-store",
            },
            expire=settings.PRIVATE_STORAGE_URL_EXPIRE_SECONDS,
        )
        response: HttpResponseBase = HttpResponseRedirect(url)
        metrics.download_bytes(kind=kind, mode="redirect", size=opened.size)
    else:
        response = FileResponse(
            opened.stream, as_attachment=True, filename=file_name, content_type=content_type
        )
        response["Content-Length"] = str(opened.size)
        metrics.download_bytes(kind=kind, mode="stream", size=opened.size)
    response["Cache-Control"] = "no-store"
    return response
