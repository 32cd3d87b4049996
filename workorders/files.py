"""Work-order files in private storage: the checks on uploads, saving, and serving them.

Attachments are limited by count, size and type; the type is the extension *and* the first
bytes of the file, so a renamed executable is not taken for a PDF. Files are served only as
attachments with ``Cache-Control: no-store``, never from a public URL.
"""

from __future__ import annotations

import codecs
import uuid
from collections.abc import Iterable
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404
from django.http.response import HttpResponseBase
from django.template.defaultfilters import filesizeformat
from django.utils.text import get_valid_filename

from refurb_portal.formats import list_join
from refurb_portal.private_files import private_file_open, private_file_response
from workorders.errors import WorkOrderError

# Extension -> accepted leading bytes; None means a text file (UTF-8, no NUL bytes).
ACCEPTED_ATTACHMENT_TYPES: dict[str, tuple[bytes, ...] | None] = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".zip": (b"PK\x03\x04", b"PK\x05\x06"),
    ".txt": None,
    ".log": None,
    ".csv": None,
}
SNIFF_BYTES = 8192


def private_storage() -> Storage:
    return storages["private"]


def attachment_max_bytes() -> int:
    return int(settings.WORK_ORDER_ATTACHMENT_MAX_BYTES)


def attachment_max_files() -> int:
    return int(settings.WORK_ORDER_ATTACHMENT_MAX_FILES)


def tool_max_bytes() -> int:
    return int(settings.WORK_ORDER_TOOL_MAX_BYTES)


def accepted_extensions_text() -> str:
    return list_join(sorted(ACCEPTED_ATTACHMENT_TYPES))


def clean_file_name(name: str) -> str:
    """A safe display and download name: no path, no odd characters, at most 150 long.

    A name whose stem sanitises to nothing ("📄.pdf" becomes ".pdf", a name without a suffix
    to the type checks) keeps its extension behind the default stem ``file``: "file.pdf".
    """
    base = PurePath(name.replace("\\", "/")).name
    try:
        safe = get_valid_filename(base)
    except SuspiciousFileOperation:
        safe = "file"
    stem, dot, ext = safe.rpartition(".")
    if dot and ext and not stem.strip("."):
        return f"file.{ext[:145]}"
    if dot and len(safe) > 150:
        return f"{stem[: 150 - len(ext) - 1]}.{ext}"
    return safe[:150]


def _leading_bytes(upload: UploadedFile) -> bytes:
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    return head if isinstance(head, bytes) else head.encode()


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        # Not final: the sample may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def attachments_check(uploads: Iterable[UploadedFile]) -> list[UploadedFile]:
    """Refuse the whole set when one file is too large, of a refused type, or too many."""
    files = list(uploads)
    if len(files) > attachment_max_files():
        raise WorkOrderError("too_many_attachments", limit=attachment_max_files())
    limit = attachment_max_bytes()
    for upload in files:
        name = clean_file_name(upload.name or "")
        size = upload.size or 0
        if size > limit:
            raise WorkOrderError(
                "attachment_too_large",
                name=name,
                size=filesizeformat(size),
                limit=filesizeformat(limit),
            )
        upload_type_check(upload)
    return files


def upload_type_check(upload: UploadedFile) -> None:
    """Refuse a file whose type is not accepted, by its extension *and* its first bytes
    (``ACCEPTED_ATTACHMENT_TYPES``): the one check for manufacturers' attachments and the
    refurbishment tool that staff attach. Raises ``WorkOrderError``."""
    name = clean_file_name(upload.name or "")
    extension = PurePath(name).suffix.lower()
    if extension not in ACCEPTED_ATTACHMENT_TYPES:
        raise WorkOrderError(
            "attachment_type_refused", name=name, accepted=accepted_extensions_text()
        )
    signatures = ACCEPTED_ATTACHMENT_TYPES[extension]
    head = _leading_bytes(upload)
    matches = (
        _looks_like_text(head)
        if signatures is None
        else any(head.startswith(signature) for signature in signatures)
    )
    if not matches:
        raise WorkOrderError("attachment_content_mismatch", name=name)


def file_save(*, upload: UploadedFile, folder: str) -> str:
    """Store ``upload`` under a random name in private storage; returns the stored name."""
    extension = PurePath(clean_file_name(upload.name or "")).suffix.lower()
    upload.seek(0)
    return private_storage().save(f"workorders/{folder}/{uuid.uuid4().hex}{extension}", upload)


def files_delete(names: Iterable[str]) -> None:
    storage = private_storage()
    for name in names:
        if name:
            storage.delete(name)


def file_response(*, storage_name: str, file_name: str, kind: str) -> HttpResponseBase:
    """The download of a stored file that no cache keeps: streamed, or a redirect to a
    short-lived presigned URL (``PRIVATE_STORAGE_DOWNLOAD``); 404 when it is missing.
    ``kind`` (``attachment``, ``tool``) labels the download-bytes metric."""
    try:
        opened = private_file_open(storage_name)
    except FileNotFoundError as exc:
        raise Http404 from exc
    return private_file_response(
        opened, file_name=file_name, content_type="application/octet-stream", kind=kind
    )
