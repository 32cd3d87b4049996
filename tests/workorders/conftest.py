from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pytest_django.fixtures import Settings

from accounts.models import User
from refurb_portal.celery import app as celery_app
from workorders.models import WorkOrder
from workorders.services import work_order_submit

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def private_storage(settings: Settings, tmp_path: Path) -> Path:
    """Each test its own private storage folder, so files left behind can be counted."""
    root = tmp_path / "private"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root, "base_url": None},
        },
    }
    return root


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


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
