"""Private storage in tests: a local folder, or S3 when ``make test`` runs beside SeaweedFS.

``make test`` runs pytest through ``tools/seaweedfs.py``, which sets ``PRIVATE_STORAGE_S3_BUCKET``;
the settings then put private storage in that bucket, and every storage test (the token file
job, downloads, attachments, the tool) runs against a real S3 server. A quick run of a few tests
without it uses a local folder. ``private_area`` gives a test its own part of either (a folder, or
a key prefix), so that the files a test leaves behind can be listed and counted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage, storages

from refurb_portal.settings.base import private_s3_storage


def s3_enabled() -> bool:
    return bool(settings.PRIVATE_STORAGE_S3_BUCKET)


def walk(storage: Storage, folder: str = "") -> list[str]:
    """Every file name under ``folder`` (recursive), as the storage names them, sorted."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return []
    prefix = f"{folder}/" if folder else ""
    names = [f"{prefix}{name}" for name in files]
    for sub in folders:
        names += walk(storage, f"{prefix}{sub}")
    return sorted(names)


def remove_all(storage: Storage, folder: str) -> None:
    for name in walk(storage, folder):
        storage.delete(name)


@dataclass(frozen=True)
class StoredFile:
    name: str

    def read_bytes(self) -> bytes:
        with storages["private"].open(self.name, "rb") as handle:
            return bytes(handle.read())


@dataclass(frozen=True)
class PrivateArea:
    """A test's own private storage (see the module); ``files()`` lists what is stored in it."""

    where: str

    def files(self) -> list[StoredFile]:
        return [StoredFile(name) for name in walk(storages["private"])]


def private_area(test_settings: Any, tmp_path: Path) -> PrivateArea:
    """Point ``STORAGES["private"]`` at a fresh folder or S3 prefix for this test."""
    if s3_enabled():
        prefix = f"test-areas/{uuid.uuid4().hex}"
        entry = private_s3_storage(settings.PRIVATE_STORAGE_S3_BUCKET, location=prefix)
        where = prefix
    else:
        root = tmp_path / "private"
        root.mkdir()
        entry = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root, "base_url": None},
        }
        where = str(root)
    test_settings.STORAGES = {**test_settings.STORAGES, "private": entry}
    return PrivateArea(where)
