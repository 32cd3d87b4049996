from __future__ import annotations

import csv
import io
import shutil
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.core.files.storage import storages

from accounts.models import User
from deliveries.models import NewDelivery
from deliveries.selectors import eligible_products_for_order
from deliveries.services import new_delivery_take
from orders.models import PurchaseOrder
from tests.celery_worker import celery_worker, celery_worker_factory
from tests.private_storage import remove_all, s3_enabled
from tokens.models import TokenFile

__all__ = ["celery_worker", "celery_worker_factory"]


@pytest.fixture(autouse=True)
def _remove_token_files() -> Iterator[None]:
    """Token files written by a test (in this process or by its worker) go with it."""
    yield
    if s3_enabled():
        remove_all(storages["private"], "token-files")
    else:
        shutil.rmtree(settings.PRIVATE_STORAGE_ROOT / "token-files", ignore_errors=True)


@pytest.fixture
def queue() -> Iterator[redis.Redis]:
    """This checkout's Celery queue in Redis, emptied before and after the test."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    yield client
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    client.close()


def queued(client: redis.Redis) -> int:
    return int(client.llen(settings.CELERY_TASK_DEFAULT_QUEUE))


def take(order: PurchaseOrder, user: User, quantity: int) -> NewDelivery:
    """Take a new delivery through the real service (which schedules its token file)."""
    product = eligible_products_for_order(order=order).first()
    assert product is not None
    return new_delivery_take(
        order_id=order.pk,
        product_id=product.pk,
        quantity=quantity,
        user=user,
        idempotency_key=uuid.uuid4(),
    ).delivery


def file_of(delivery: NewDelivery) -> TokenFile:
    return TokenFile.objects.select_related("delivery__order", "delivery__product").get(
        delivery=delivery
    )


def ready(delivery: NewDelivery) -> TokenFile:
    """Run the delivery's token file job here and now; the file must end READY."""
    from tokens.generation import token_file_generate

    token_file = token_file_generate(token_file_id=file_of(delivery).pk)
    assert token_file is not None
    assert token_file.status == TokenFile.Status.READY
    return token_file


def file_bytes(token_file: TokenFile) -> bytes:
    with storages["private"].open(token_file.storage_name, "rb") as handle:
        return handle.read()


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
