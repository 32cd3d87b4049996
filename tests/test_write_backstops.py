"""PostgreSQL refuses every write that bypasses the services (rule R13): one raw SQL write per
protected kind, each refused. The services' own writes pass (the rest of the suite uses them)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import Manufacturer, User
from deliveries.models import NewDelivery
from orders.models import OriginalDelivery, Product, PurchaseOrder
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


TOKEN_INSERT = (
    "INSERT INTO tokens_token (order_id, delivery_id, original_delivery_id, product_id, "
    "serial, uuid, auth_key) VALUES (%s, %s, %s, %s, 999, repeat('z', 20), repeat('Z', 32))"
)


def _token_values(
    *, order: int, delivery: int | None, original: int | None, product: int
) -> list[object]:
    return [order, delivery, original, product]


def _write_as_service(sql: str, params: list[object]) -> None:
    with transaction.atomic(), service_writes(NEW_DELIVERY), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    "case",
    [
        "another order",
        "another product of the order",
        "another manufacturer's product",
        "a delivery that does not exist",
        "an order that does not exist",
        "a product that does not exist",
        "another order's original delivery",
    ],
)
def test_a_token_must_name_its_own_delivery_order_and_product(
    downloaded: TokenFile, acme: Manufacturer, globex: Manufacturer, case: str
) -> None:
    # Checked once per statement (tokens.0011), where row-level foreign keys checked existence
    # alone: a token of another order, product or manufacturer is refused as well.
    delivery = downloaded.delivery
    assert delivery is not None
    other_order = delivered_license_order(acme, ordered=10, delivered=5)
    theirs: Product = ProductFactory(manufacturer=globex)
    other_product = delivery.order.products.exclude(pk=delivery.product_id).first()
    assert other_product is not None
    mine = {"order": delivery.order_id, "delivery": delivery.pk, "original": None,
            "product": delivery.product_id}  # fmt: skip
    changed = {
        "another order": {"order": other_order.pk},
        "another product of the order": {"product": other_product.pk},
        "another manufacturer's product": {"product": theirs.pk},
        "a delivery that does not exist": {"delivery": delivery.pk + 10_000},
        "an order that does not exist": {"order": other_order.pk + 10_000},
        "a product that does not exist": {"product": other_product.pk + 10_000},
        "another order's original delivery": {
            "delivery": None,
            "original": other_order.original_deliveries.get().pk,
        },
    }[case]
    refused(TOKEN_INSERT, _token_values(**(mine | changed)), "a token names an order, delivery")
    assert Token.objects.filter(serial=999).count() == 0


def test_a_token_naming_its_own_delivery_passes_the_check(downloaded: TokenFile) -> None:
    delivery = downloaded.delivery
    assert delivery is not None
    with connection.cursor() as cursor:
        values: list[int | None] = [delivery.order_id, delivery.pk, None, delivery.product_id]
        cursor.execute(TOKEN_INSERT, values)
    assert Token.objects.filter(delivery=delivery, serial=999).exists()


@pytest.mark.parametrize(
    ("table", "of"),
    [
        ("orders_purchaseorder", lambda tf: tf.delivery.order_id),
        ("orders_product", lambda tf: tf.delivery.product_id),
        ("deliveries_newdelivery", lambda tf: tf.delivery_id),
    ],
)
@pytest.mark.parametrize("change", ["DELETE FROM {table}", "UPDATE {table} SET id = id + 10000"])
def test_a_row_that_tokens_name_cannot_be_deleted_or_renumbered(
    downloaded: TokenFile, table: str, of: object, change: str
) -> None:
    # What the foreign keys' other side did: even a service's writer setting does not help.
    row_id = of(downloaded)  # type: ignore[operator]
    sql = f"{change.format(table=table)} WHERE id = %s"
    with pytest.raises(IntegrityError, match="is named by tokens"):
        _write_as_service(sql, [row_id])
    assert Token.objects.filter(delivery_id=downloaded.delivery_id).count() == 3


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
