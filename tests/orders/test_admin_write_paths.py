"""The admin writes orders and products through their services (rule R13): a save never
writes back a counter it read before a take committed, a broken rule is a form error in the
admin's language, never an error page, and issued tokens never change tenant."""

from __future__ import annotations

import threading
import uuid
from functools import partial

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Manufacturer, User
from deliveries.errors import DeliveryError
from deliveries.services import new_delivery_take
from orders.errors import OrderError
from orders.models import PurchaseOrder
from orders.selectors import order_counters_from_rows
from orders.services import purchase_order_update
from refurb_portal.invariants import invariant_violations
from tests.admin_forms import form_data, form_fields
from tests.conftest import delivered_license_order, login_verified
from tests.factories import ManufacturerFactory, ProductFactory
from tests.threads import HANG_TIMEOUT_SECONDS, barrier, join_all, start_all, wait_for
from tests.tokens.conftest import _remove_token_files, file_of, take
from tokens.generation import token_file_generate

__all__ = ["_remove_token_files"]


def change_url(order: PurchaseOrder) -> str:
    return reverse("admin:orders_purchaseorder_change", args=[order.pk])


def order_form(client: Client, order: PurchaseOrder) -> dict[str, list[str]]:
    """What the order's change form sends as it was rendered, with "Save"."""
    response = client.get(change_url(order))
    assert response.status_code == 200
    data = form_data(form_fields(response.content.decode(), "purchaseorder_form"))
    data["_save"] = ["Save"]
    return data


def staff_client(user: User) -> Client:
    client = Client()
    login_verified(client, user)
    return client


def assert_counters_match_rows(order: PurchaseOrder) -> None:
    order.refresh_from_db()
    assert (order.quantity_delivered, order.new_tokens_delivered) == order_counters_from_rows(
        order_id=order.pk
    )
    assert invariant_violations() == []


def wait_for_a_lock_wait(saver: threading.Thread) -> None:
    """Until another session of this test database waits for a row lock (the admin's save
    queued behind the take). Polls pg_stat_activity while the saver runs; fails if it ended
    without waiting, or after the hang timeout."""
    pause = threading.Event()
    with connection.cursor() as cursor:
        for _ in range(int(HANG_TIMEOUT_SECONDS * 20)):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            row = cursor.fetchone()
            if row is not None and row[0]:
                return
            if not saver.is_alive():
                break
            pause.wait(0.05)
    pytest.fail("the admin's save never waited for the order's row lock")


@pytest.mark.django_db(transaction=True)
def test_an_admin_save_while_a_take_holds_the_lock_keeps_the_take(
    acme: Manufacturer, acme_user: User, staff_user: User
) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    client = staff_client(staff_user)
    data = order_form(client, order)  # rendered before the take: new tokens delivered 0
    data["contract_number"] = ["CT-CHANGED"]
    taken, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    responses: list[int] = []

    def taker() -> None:
        try:
            # The service's own transaction becomes a savepoint of this one: the order's row
            # stays locked, with the take made, until ``release``.
            with transaction.atomic():
                take(order, acme_user, 100)
                taken.set()
                wait_for(release, "the release of the take")
        except BaseException as exc:
            errors.append(exc)
            taken.set()
        finally:
            connection.close()

    def saver() -> None:
        try:
            responses.append(client.post(change_url(order), data).status_code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    (take_thread,) = start_all([taker])
    wait_for(taken, "the take")
    (save_thread,) = start_all([saver])
    try:
        wait_for_a_lock_wait(save_thread)
    finally:
        release.set()
    join_all([take_thread, save_thread])
    assert errors == []
    assert responses == [302]
    order.refresh_from_db()
    assert (order.contract_number, order.new_tokens_delivered) == ("CT-CHANGED", 100)
    assert order.available_new_tokens == 500
    assert_counters_match_rows(order)


def taking(
    start: threading.Barrier,
    errors: list[object],
    *,
    order: PurchaseOrder,
    user: User,
    times: int,
) -> None:
    """Take 1 token ``times`` times through the service; any refusal but "busy" is an error."""
    product_id = order.products.order_by("pk").values_list("pk", flat=True)[0]
    try:
        start.wait()
        for _ in range(times):
            try:
                new_delivery_take(
                    order_id=order.pk,
                    product_id=product_id,
                    quantity=1,
                    user=user,
                    idempotency_key=uuid.uuid4(),
                )
            except DeliveryError as exc:
                if exc.code != "busy":
                    errors.append(exc)
    except BaseException as exc:
        errors.append(exc)
    finally:
        connection.close()


def saving(
    start: threading.Barrier,
    errors: list[object],
    statuses: list[int],
    *,
    client: Client,
    url: str,
    form: dict[str, list[str]],
    times: int,
) -> None:
    """Save the order's change form ``times`` times, a new contract number each time."""
    try:
        start.wait()
        for step in range(times):
            data = {**form, "contract_number": [f"CT-{uuid.uuid4().hex[:8]}-{step}"]}
            statuses.append(client.post(url, data).status_code)
    except BaseException as exc:
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_takes_and_admin_saves_from_several_threads_keep_the_counters(
    acme: Manufacturer, acme_user: User, staff_user: User
) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    takers, savers = 3, 2
    clients = [staff_client(staff_user) for _ in range(savers)]
    for _round in range(3):
        # Rendered before the round: every save carries counters that the takes make stale.
        forms = [order_form(client, order) for client in clients]
        start = barrier(takers + savers)
        errors: list[object] = []
        statuses: list[int] = []
        join_all(
            start_all(
                [
                    partial(taking, start, errors, order=order, user=acme_user, times=8)
                    for _ in range(takers)
                ]
                + [
                    partial(
                        saving,
                        start,
                        errors,
                        statuses,
                        client=client,
                        url=change_url(order),
                        form=form,
                        times=4,
                    )
                    for client, form in zip(clients, forms, strict=True)
                ]
            )
        )
        assert errors == []
        assert len(statuses) == savers * 4
        assert all(status < 500 for status in statuses), statuses
        assert_counters_match_rows(order)
    order.refresh_from_db()
    assert order.new_tokens_delivered == order.new_deliveries.count() > 0


@pytest.mark.django_db
def test_the_manufacturer_of_a_delivered_order_cannot_change_in_the_admin(
    staff_client: Client,
    acme: Manufacturer,
    acme_user: User,
    globex: Manufacturer,
    globex_client: Client,
) -> None:
    order = delivered_license_order(acme, delivered=600)
    delivery = take(order, acme_user, 5)
    token_file_generate(token_file_id=file_of(delivery).pk)
    theirs = ProductFactory(manufacturer=globex)
    data = order_form(staff_client, order)
    data.update(manufacturer=[str(globex.pk)], products=[str(theirs.pk)])
    with translation.override("en"):
        response = staff_client.post(change_url(order), data)
    assert response.status_code == 200
    assert "The manufacturer cannot change: this order already has deliveries" in (
        response.content.decode()
    )
    order.refresh_from_db()
    assert order.manufacturer == acme
    assert list(order.products.values_list("manufacturer", flat=True)) == [acme.pk] * 3
    download = reverse("tokens:download", args=[delivery.pk])
    assert globex_client.get(download).status_code == 404


@pytest.mark.django_db
def test_an_undelivered_order_may_move_to_another_manufacturer_with_its_products(
    staff_client: Client, acme: Manufacturer, globex: Manufacturer
) -> None:
    order = delivered_license_order(acme, delivered=0)
    theirs = ProductFactory(manufacturer=globex)
    data = order_form(staff_client, order)
    data.update(manufacturer=[str(globex.pk)], products=[str(theirs.pk)])
    assert staff_client.post(change_url(order), data).status_code == 302
    order.refresh_from_db()
    assert (order.manufacturer, list(order.products.all())) == (globex, [theirs])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "The ordered quantity cannot be 599: 600 are already delivered."),
        ("zh-hans", "订购数量不能为 599：已交付 600。"),  # noqa: RUF001
    ],
)
def test_ordered_below_delivered_is_a_form_error_in_the_admins_language(
    staff_client: Client, acme: Manufacturer, language: str, message: str
) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    data = order_form(staff_client, order)
    data["quantity_ordered"] = ["599"]
    staff_client.cookies["django_language"] = language
    with translation.override(language):
        response = staff_client.post(change_url(order), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    order.refresh_from_db()
    assert order.quantity_ordered == 1000


@pytest.mark.django_db
def test_a_product_of_another_manufacturer_is_a_form_error(
    staff_client: Client, acme: Manufacturer, globex: Manufacturer
) -> None:
    order = delivered_license_order(acme, delivered=600)
    theirs = ProductFactory(manufacturer=globex, product_id="GLOBEX-1")
    data = order_form(staff_client, order)
    data["products"] = [*data["products"], str(theirs.pk)]
    with translation.override("en"):
        response = staff_client.post(change_url(order), data)
    assert response.status_code == 200
    assert "These products belong to another manufacturer than the order&#x27;s: GLOBEX-1." in (
        response.content.decode()
    )
    assert not order.products.filter(pk=theirs.pk).exists()


@pytest.mark.django_db
def test_a_product_on_an_order_keeps_its_manufacturer_in_the_admin(
    staff_client: Client, acme: Manufacturer, globex: Manufacturer
) -> None:
    order = delivered_license_order(acme, delivered=600)
    product = order.products.order_by("pk").first()
    assert product is not None
    url = reverse("admin:orders_product_change", args=[product.pk])
    data = form_data(form_fields(staff_client.get(url).content.decode(), "product_form"))
    data["manufacturer"] = [str(globex.pk)]
    with translation.override("en"):
        response = staff_client.post(url, {**data, "_save": ["Save"]})
    assert response.status_code == 200
    assert "this product is on orders of its manufacturer" in response.content.decode()
    product.refresh_from_db()
    assert product.manufacturer == acme


@pytest.mark.django_db
def test_staff_may_cancel_but_not_set_a_status_the_counters_do_not_say(staff_user: User) -> None:
    """The trial's case: a fully delivered order set to "Awaiting delivery" in the admin."""
    order = delivered_license_order(
        ManufacturerFactory(), number="STATUS-1", ordered=1_000, delivered=1_000
    )
    assert order.status == PurchaseOrder.Status.DELIVERED
    with pytest.raises(OrderError) as refused:
        purchase_order_update(
            order_id=order.pk, values={"status": PurchaseOrder.Status.AWAITING_DELIVERY}
        )
    assert refused.value.code == "status_disagrees"
    order.refresh_from_db()
    assert order.status == PurchaseOrder.Status.DELIVERED

    # More ordered: the status follows the counters by itself.
    purchase_order_update(order_id=order.pk, values={"quantity_ordered": 1_500})
    order.refresh_from_db()
    assert order.status == PurchaseOrder.Status.PARTIALLY_DELIVERED

    purchase_order_update(order_id=order.pk, values={"status": PurchaseOrder.Status.CANCELLED})
    order.refresh_from_db()
    assert order.status == PurchaseOrder.Status.CANCELLED
