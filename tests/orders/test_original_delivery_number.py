"""An original delivery's number (``O001``...) is its stored ``sequence``: assigned under the
order's row lock by ``orders.services.original_delivery_record``, unique per order, and read
without a query, so a list of original deliveries costs the same whatever its length."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Manufacturer, User
from orders.models import OriginalDelivery
from orders.services import original_delivery_record, original_delivery_reverse
from tests.conftest import delivered_license_order
from tests.factories import StaffUserFactory
from tests.threads import barrier, run_in_threads


def record(order_id: int, quantity: int = 10) -> OriginalDelivery:
    return original_delivery_record(order_id=order_id, quantity=quantity, user=None)


@pytest.mark.django_db
def test_each_order_numbers_its_deliveries_from_one(acme: Manufacturer) -> None:
    first = delivered_license_order(acme, delivered=100)
    other = delivered_license_order(acme, delivered=100)
    record(first.pk)
    record(first.pk)
    numbers = list(
        OriginalDelivery.objects.filter(order=first).order_by("pk").values_list("sequence", "pk")
    )
    assert [sequence for sequence, _pk in numbers] == [1, 2, 3]
    assert [d.number for d in OriginalDelivery.objects.filter(order=first).order_by("pk")] == [
        "O001",
        "O002",
        "O003",
    ]
    assert OriginalDelivery.objects.get(order=other).number == "O001"


@pytest.mark.django_db
def test_a_reversal_keeps_every_number(acme: Manufacturer) -> None:
    order = delivered_license_order(acme, delivered=100)
    second = record(order.pk)
    original_delivery_reverse(
        original_delivery_id=second.pk, user=StaffUserFactory(username="staff"), reason="typo"
    )
    third = record(order.pk)
    second.refresh_from_db()
    assert (second.number, third.number) == ("O002", "O003")


@pytest.mark.django_db
def test_a_replayed_form_keeps_its_number(acme: Manufacturer) -> None:
    order = delivered_license_order(acme, delivered=100)
    key = uuid.uuid4()
    made = original_delivery_record(order_id=order.pk, quantity=5, user=None, record_key=key)
    again = original_delivery_record(order_id=order.pk, quantity=5, user=None, record_key=key)
    assert (made.pk, made.number) == (again.pk, again.number) == (made.pk, "O002")


@pytest.mark.django_db
def test_the_database_refuses_a_number_twice_in_one_order(acme: Manufacturer) -> None:
    """A row inserted without its sequence gets the default 1: on an order that already has its
    first delivery, the unique constraint refuses it rather than repeat O001."""
    order = delivered_license_order(acme, delivered=100)
    with pytest.raises(IntegrityError), transaction.atomic():
        OriginalDelivery.objects.create(order=order, quantity=1)
    other = delivered_license_order(acme, delivered=0)
    assert OriginalDelivery.objects.create(order=other, quantity=1).number == "O001"


@pytest.mark.django_db
def test_the_number_is_read_without_a_query(
    acme: Manufacturer, django_assert_num_queries: Callable[..., Any]
) -> None:
    order = delivered_license_order(acme, delivered=100)
    record(order.pk)
    deliveries = list(OriginalDelivery.objects.filter(order=order).order_by("pk"))
    with django_assert_num_queries(0):
        assert [d.number for d in deliveries] == ["O001", "O002"]


@pytest.mark.django_db(transaction=True)
def test_two_recordings_at_once_get_two_numbers(acme: Manufacturer) -> None:
    """Two staff record a delivery of one order at the same moment: the order's row lock
    serializes them, and they are O002 and O003."""
    order = delivered_license_order(acme, delivered=100)
    start = barrier(2)
    made: list[str] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            start.wait()
            made.append(record(order.pk).number)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    run_in_threads([one, one])
    assert errors == []
    assert sorted(made) == ["O002", "O003"]


@pytest.mark.django_db
def test_the_initiate_pages_original_files_cost_the_same_whatever_their_number(
    acme: Manufacturer,
    acme_user: User,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    """The Initiate new delivery page lists the order's original deliveries with their numbers:
    measured with one, then with twelve, the page sends no more queries."""
    order = delivered_license_order(acme, ordered=1000, delivered=100)
    client = Client()
    client.force_login(acme_user)
    url = reverse("deliveries:initiate", args=[order.number])
    client.get(url)  # the session's first request writes it
    with CaptureQueriesContext(connection) as one:
        page = client.get(url)
    assert page.status_code == 200
    assert "O001" in page.content.decode()
    for _ in range(11):
        record(order.pk)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(url)
    content = page.content.decode()
    assert "O001" in content
    assert "O012" in content


@pytest.mark.django_db(transaction=True)
def test_the_migration_numbers_existing_deliveries_as_number_counted_them(
    acme: Manufacturer, owner_db: BaseDatabaseWrapper
) -> None:
    """orders/0006 backfills each existing delivery with its place among its order's by id."""
    from django.db.migrations.executor import MigrationExecutor

    first = delivered_license_order(acme, delivered=100)
    other = delivered_license_order(acme, delivered=100)
    before = ("orders", "0005_purchase_order_sort_indexes")
    after = ("orders", "0006_original_delivery_sequence")
    connections[owner_db.alias] = owner_db  # the executor looks its connection up by alias
    MigrationExecutor(owner_db).migrate([before])  # the tables' owner changes them
    try:
        with owner_db.cursor() as cursor:
            for order_id in (first.pk, other.pk, first.pk, first.pk):
                cursor.execute(
                    "INSERT INTO orders_originaldelivery (order_id, quantity, delivered_at, "
                    "note, reversal_reason) VALUES (%s, 1, now(), '', '')",
                    [order_id],
                )
    finally:
        MigrationExecutor(owner_db).migrate([after])
        del connections[owner_db.alias]
    numbers = {
        order_id: [
            d.number for d in OriginalDelivery.objects.filter(order_id=order_id).order_by("pk")
        ]
        for order_id in (first.pk, other.pk)
    }
    # Each order's first (recorded above) and the rows inserted before the migration.
    assert numbers == {first.pk: ["O001", "O002", "O003", "O004"], other.pk: ["O001", "O002"]}
