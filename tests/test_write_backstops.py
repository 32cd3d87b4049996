"""PostgreSQL refuses every write that bypasses the services (rule R13): one raw SQL write per
protected kind, each refused. The services' own writes pass (the rest of the suite uses them)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import Manufacturer, User
from deliveries.models import NewDelivery
from orders.models import OriginalDelivery, PurchaseOrder
from refurb_portal.writers import NEW_DELIVERY, service_writes
from tests.conftest import delivered_license_order
from tests.factories import ProductFactory
from tests.tokens.conftest import _remove_token_files, file_of, take
from tokens.generation import token_file_generate
from tokens.models import Token, TokenDownload, TokenFile
from tokens.services import token_file_download_record

__all__ = ["_remove_token_files"]

pytestmark = pytest.mark.django_db


def refused(sql: str, params: list[object], match: str) -> None:
    """Run ``sql`` as anyone but a service would; it must be refused and change nothing.

    The deferred checks (run at COMMIT) are made immediate first, so the setup's own pending
    checks pass before, and ``sql``'s are made at its end (the test's transaction never commits).
    """
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with (
        pytest.raises(IntegrityError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


@pytest.fixture
def order(acme: Manufacturer) -> PurchaseOrder:
    return delivered_license_order(acme, ordered=1000, delivered=600)


@pytest.fixture
def downloaded(order: PurchaseOrder, acme_user: User) -> TokenFile:
    delivery = take(order, acme_user, 3)
    token_file_generate(token_file_id=file_of(delivery).pk)
    token_file = file_of(delivery)
    token_file_download_record(token_file=token_file, user=acme_user)
    return token_file


def test_the_delivered_counter_is_refused_outside_its_service(order: PurchaseOrder) -> None:
    refused(
        "UPDATE orders_purchaseorder SET quantity_delivered = 500 WHERE id = %s",
        [order.pk],
        "quantity_delivered is written only by the original delivery service",
    )


def test_the_new_tokens_counter_is_refused_outside_its_service(
    order: PurchaseOrder, acme_user: User
) -> None:
    take(order, acme_user, 100)
    # The lost update of the admin: a stale value, in range, written back.
    refused(
        "UPDATE orders_purchaseorder SET new_tokens_delivered = 50, contract_number = 'X' "
        "WHERE id = %s",
        [order.pk],
        "new_tokens_delivered is written only by the new delivery service",
    )
    order.refresh_from_db()
    assert order.new_tokens_delivered == 100


def test_the_other_service_writer_cannot_write_the_counter_either(order: PurchaseOrder) -> None:
    with (
        pytest.raises(IntegrityError, match="quantity_delivered is written only"),
        transaction.atomic(),
        service_writes(NEW_DELIVERY),
    ):
        PurchaseOrder.objects.filter(pk=order.pk).update(quantity_delivered=500)


def test_the_manufacturer_of_a_delivered_order_cannot_change(
    order: PurchaseOrder, globex: Manufacturer
) -> None:
    refused(
        "UPDATE orders_purchaseorder SET manufacturer_id = %s WHERE id = %s",
        [globex.pk, order.pk],
        "the manufacturer of an order with deliveries cannot change",
    )


def test_a_product_of_another_manufacturer_cannot_be_put_on_an_order(
    order: PurchaseOrder, globex: Manufacturer
) -> None:
    stranger = ProductFactory(manufacturer=globex)
    refused(
        "INSERT INTO orders_purchaseorder_products (purchaseorder_id, product_id) VALUES (%s, %s)",
        [order.pk, stranger.pk],
        "an order holds only products of its own manufacturer",
    )


def test_an_order_cannot_move_away_from_its_products(
    acme: Manufacturer, globex: Manufacturer
) -> None:
    undelivered = delivered_license_order(acme, delivered=0)
    refused(
        "UPDATE orders_purchaseorder SET manufacturer_id = %s WHERE id = %s",
        [globex.pk, undelivered.pk],
        "an order holds only products of its own manufacturer",
    )


def test_a_product_on_an_order_cannot_move_to_another_manufacturer(
    order: PurchaseOrder, globex: Manufacturer
) -> None:
    product = order.products.first()
    assert product is not None
    refused(
        "UPDATE orders_product SET manufacturer_id = %s WHERE id = %s",
        [globex.pk, product.pk],
        "a product belongs to the manufacturer of its orders and deliveries",
    )


def test_a_new_delivery_of_another_manufacturers_product_is_refused(
    order: PurchaseOrder, acme_user: User, globex: Manufacturer
) -> None:
    delivery = take(order, acme_user, 1)
    stranger = ProductFactory(manufacturer=globex)
    refused(
        "INSERT INTO deliveries_newdelivery (order_id, sequence, product_id, quantity, "
        "taken_by_id, taken_at, idempotency_key, void_reason) "
        "VALUES (%s, 99, %s, 1, %s, now(), gen_random_uuid(), '')",
        [order.pk, stranger.pk, delivery.taken_by_id],
        "a new delivery is of a product of the manufacturer of its order",
    )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE deliveries_newdelivery SET quantity = 1 WHERE id = %s",
        "DELETE FROM deliveries_newdelivery WHERE id = %s",
    ],
)
def test_new_deliveries_are_refused_outside_their_service(
    order: PurchaseOrder, acme_user: User, sql: str
) -> None:
    delivery = take(order, acme_user, 5)
    # Deleting its file first, as a careless cleanup would, is refused too once it is READY.
    refused(sql, [delivery.pk], "new deliveries are changed only by their service")
    assert NewDelivery.objects.get(pk=delivery.pk).quantity == 5


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE orders_originaldelivery SET quantity = 1 WHERE order_id = %s",
        "DELETE FROM orders_originaldelivery WHERE order_id = %s",
    ],
)
def test_original_deliveries_are_refused_outside_their_service(
    order: PurchaseOrder, sql: str
) -> None:
    refused(sql, [order.pk], "original deliveries are changed only by their service")
    assert list(
        OriginalDelivery.objects.filter(order=order).values_list("quantity", flat=True)
    ) == [600]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE tokens_token SET auth_key = repeat('A', 32) WHERE delivery_id = %s",
        "UPDATE tokens_token SET status = 'revoked' WHERE delivery_id = %s",
        "DELETE FROM tokens_token WHERE delivery_id = %s",
    ],
)
def test_tokens_are_refused_outside_their_services(downloaded: TokenFile, sql: str) -> None:
    refused(sql, [downloaded.delivery_id], "tokens are changed only by the delivery services")
    assert (
        Token.objects.filter(delivery_id=downloaded.delivery_id, status=Token.Status.ISSUED).count()
        == 3
    )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE tokens_tokenfile SET status = 'pending' WHERE id = %s",
        "UPDATE tokens_tokenfile SET sha256 = repeat('0', 64) WHERE id = %s",
        "DELETE FROM tokens_tokenfile WHERE id = %s",
    ],
)
def test_a_ready_token_file_is_refused_outside_its_services(
    downloaded: TokenFile, sql: str
) -> None:
    refused(sql, [downloaded.pk], "a ready or voided token file is changed only by the void")
    assert TokenFile.objects.get(pk=downloaded.pk).status == TokenFile.Status.READY


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE tokens_tokendownload SET user_id = user_id WHERE token_file_id = %s",
        "DELETE FROM tokens_tokendownload WHERE token_file_id = %s",
    ],
)
def test_download_records_are_never_changed(downloaded: TokenFile, sql: str) -> None:
    # "Never downloaded" decides whether a delivery may be voided: no one may erase a download.
    refused(sql, [downloaded.pk], "token downloads are recorded, never changed")
    assert TokenDownload.objects.filter(token_file=downloaded).count() == 1
