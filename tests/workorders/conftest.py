from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from pytest_django.fixtures import Settings

from accounts.models import User
from refurb_portal.celery import app as celery_app
from tests.private_storage import PrivateArea, StoredFile, private_area, remove_all
from workorders.models import WorkOrder
from workorders.services import work_order_submit

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def private_storage(settings: Settings, tmp_path: Path) -> Iterator[PrivateArea]:
    """Each test its own private storage (a folder, or an S3 prefix under make test), so files
    left behind can be counted; emptied afterwards."""
    area = private_area(settings, tmp_path)
    yield area
    remove_all(storages["private"], "")


def stored_files(area: PrivateArea) -> list[StoredFile]:
    return area.files()


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Run Celery tasks in-process, as ``make run`` does, so the email task really runs."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def pdf(name: str = "photo.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def submit(user: User, **overrides: object) -> WorkOrder:
    """A work order submitted through the service, as the portal does."""
    import uuid

    arguments: dict[str, object] = {
        "user": user,
        "work_order_type": WorkOrder.Type.TOOL,
        "order": None,
        "description": "Please send the refurbishment tool.",
        "contact": "Jane Doe, jane@example.com",
        "submission_key": uuid.uuid4(),
        **overrides,
    }
    return work_order_submit(**arguments).work_order  # type: ignore[arg-type]
