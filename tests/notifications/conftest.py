from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from pytest_django.fixtures import Settings

from accounts.models import User
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from refurb_portal.celery import app as celery_app
from tests.deliveries.conftest import take as take_result
from tokens.generation import token_file_generate
from tokens.models import TokenFile

Capture = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


class BrokenBackend(BaseEmailBackend):
    """A mail server that is down: every send raises, as smtplib does."""

    attempts = 0

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        BrokenBackend.attempts += 1
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


BROKEN_MAILERS = {"default": {"BACKEND": "tests.notifications.conftest.BrokenBackend"}}
WORKING_MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture(autouse=True)
def eager_tasks() -> Iterator[None]:
    """Run Celery tasks in-process, so that the email task really runs after the commit."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def private_files(settings: Settings, tmp_path: Path) -> None:
    """Token files this test makes go to its own folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path, "base_url": None},
        },
    }


def take(order: PurchaseOrder, user: User, quantity: int = 5) -> NewDelivery:
    return take_result(order, user, quantity).delivery


def make_ready(delivery: NewDelivery) -> TokenFile:
    token_file = token_file_generate(token_file_id=delivery.file.pk)
    assert token_file is not None
    assert token_file.status == TokenFile.Status.READY
    return token_file


def make_fail(delivery: NewDelivery, settings: Settings) -> TokenFile:
    """The job gives up on the file: it has had all its attempts without finishing."""
    settings.TOKEN_FILE_MAX_ATTEMPTS = 1
    TokenFile.objects.filter(delivery=delivery).update(
        status=TokenFile.Status.GENERATING, attempts=1
    )
    token_file = token_file_generate(token_file_id=delivery.file.pk)
    assert token_file is not None
    assert token_file.status == TokenFile.Status.FAILED
    return token_file
