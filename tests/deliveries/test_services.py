"""``new_delivery_take``: the rules, idempotency, the audit trail, the file job, the lock wait."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from pytest_django.fixtures import Settings

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from deliveries.errors import DeliveryError
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from orders.selectors import order_counters_from_rows
from orders.services import original_delivery_record
from refurb_portal.locking import lock_row
from tests.conftest import delivered_license_order
from tests.deliveries.conftest import state, take
from tests.factories import ModuleFactory, ModuleOrderFactory, ProductFactory
from tests.threads import HANG_TIMEOUT_SECONDS, join_all, start_all, wait_for
from tokens.models import TokenFile


def refusal(order: PurchaseOrder, attempt: Callable[[], object]) -> DeliveryError:
    """Run a take that must be refused; check that it changed nothing and return the refusal."""
    before = state(order)
    with pytest.raises(DeliveryError) as info:
        attempt()
    assert state(order) == before
    return info.value


@pytest.mark.django_db
def test_a_take_records_the_delivery_counter_file_job_and_audit(
    seed_order: PurchaseOrder,
    acme_user: User,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    product = seed_order.products.order_by("pk")[1]
    with django_capture_on_commit_callbacks() as callbacks:  # type: ignore[attr-defined]
        result = take(seed_order, acme_user, 250, product_id=product.pk)
    assert result.created
    delivery = result.delivery
    assert (delivery.sequence, delivery.number, delivery.quantity) == (1, "N001", 250)
    assert (delivery.product, delivery.taken_by, delivery.order) == (product, acme_user, seed_order)
    seed_order.refresh_from_db()
    assert (seed_order.new_tokens_delivered, seed_order.available_new_tokens) == (250, 350)
    assert order_counters_from_rows(order_id=seed_order.pk) == (600, 250)
    token_file = TokenFile.objects.get(delivery=delivery)
    assert (token_file.status, token_file.total) == (TokenFile.Status.PENDING, 250)
    # Only once the delivery commits: the job is sent to the broker, and (AUDIT_SEAL_ON_COMMIT,
    # tests and make run) the audit event sealed in a transaction of its own.
    assert [getattr(c, "func", c).__name__ for c in callbacks] == ["_enqueue_new", "audit_seal"]
    event = AuditEvent.objects.get(action="delivery.taken")
    assert (event.actor, event.manufacturer, event.object_id) == (
        acme_user,
        seed_order.manufacturer,
        str(delivery.pk),
    )
    assert event.details["quantity"] == 250
    assert event.details["available_before"] == 600
    assert event.details["available_after"] == 350


@pytest.mark.django_db
def test_any_number_of_deliveries_up_to_the_available_count_r3(
    seed_order: PurchaseOrder, acme_user: User
) -> None:
    for quantity in (1, 99, 250):
        take(seed_order, acme_user, quantity)
    take(seed_order, acme_user, 250)  # exactly what is left
    seed_order.refresh_from_db()
    assert seed_order.available_new_tokens == 0
    numbers = list(
        seed_order.new_deliveries.order_by("sequence").values_list("sequence", flat=True)
    )
    assert numbers == [1, 2, 3, 4]
    assert refusal(seed_order, lambda: take(seed_order, acme_user, 1)).code == "nothing_available"


@pytest.mark.django_db
def test_more_than_available_is_refused_with_the_number_and_audited(
    seed_order: PurchaseOrder, acme_user: User
) -> None:
    error = refusal(seed_order, lambda: take(seed_order, acme_user, 601))
    assert (error.code, error.field) == ("quantity_exceeds_available", "quantity")
    assert "Only 600 new tokens are available" in error.message
    refused = AuditEvent.objects.get(action="delivery.refused")
    assert refused.details["reason"] == "quantity_exceeds_available"
    assert refused.details["quantity"] == 601
    assert refused.actor == acme_user


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -5, True, 1.5, "7", None])
def test_a_quantity_that_is_not_a_positive_int_is_refused_unaudited(
    seed_order: PurchaseOrder, acme_user: User, quantity: object
) -> None:
    error = refusal(seed_order, lambda: take(seed_order, acme_user, quantity))  # type: ignore[arg-type]
    assert error.code == "quantity_not_positive"
    assert not AuditEvent.objects.filter(action__startswith="delivery.").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("delivered", "status"),
    [(0, PurchaseOrder.Status.AWAITING_DELIVERY), (0, PurchaseOrder.Status.CANCELLED)],
)
def test_an_order_without_delivered_tokens_is_not_eligible_r1(
    acme: Manufacturer, acme_user: User, delivered: int, status: str
) -> None:
    order = delivered_license_order(acme, delivered=delivered, status=status)
    error = refusal(order, lambda: take(order, acme_user, 1))
    assert (error.code, error.field) == ("order_not_eligible", None)
    assert AuditEvent.objects.filter(
        action="delivery.refused", details__reason="order_not_eligible"
    ).exists()


@pytest.mark.django_db
def test_a_cancelled_order_with_deliveries_is_not_eligible(
    seed_order: PurchaseOrder, acme_user: User
) -> None:
    PurchaseOrder.objects.filter(pk=seed_order.pk).update(status=PurchaseOrder.Status.CANCELLED)
    assert refusal(seed_order, lambda: take(seed_order, acme_user, 1)).code == "order_not_eligible"


@pytest.mark.django_db
def test_a_module_order_with_delivered_modules_takes_for_a_same_category_product(
    acme: Manufacturer, acme_user: User
) -> None:
    wb3s = ModuleFactory(code="WB3S")
    strip = ProductFactory(manufacturer=acme, modules=[wb3s])
    sibling = ProductFactory(manufacturer=acme, category=strip.category)
    order = ModuleOrderFactory(manufacturer=acme, module=wb3s, products=[strip])
    original_delivery_record(order_id=order.pk, quantity=300, user=None)
    result = take(order, acme_user, 300, product_id=sibling.pk)
    assert result.delivery.product == sibling


@pytest.mark.django_db
def test_products_that_are_not_eligible_are_refused_and_audited_r6_r7(
    seed_order: PurchaseOrder, acme: Manufacturer, globex: Manufacturer, acme_user: User
) -> None:
    same_category = ProductFactory(
        manufacturer=acme,
        category=seed_order.products.first().category,  # type: ignore[union-attr]
    )
    other_manufacturers = ProductFactory(manufacturer=globex)
    for product_id in (same_category.pk, other_manufacturers.pk, 10**9):
        error = refusal(
            seed_order, lambda pid=product_id: take(seed_order, acme_user, 1, product_id=pid)
        )
        assert (error.code, error.field) == ("product_not_eligible", "product")
    assert (
        AuditEvent.objects.filter(
            action="delivery.refused", details__reason="product_not_eligible"
        ).count()
        == 3
    )


@pytest.mark.django_db
def test_nothing_available_is_refused_before_the_product_is_looked_at_r5(
    acme: Manufacturer, acme_user: User, globex: Manufacturer
) -> None:
    order = delivered_license_order(acme, ordered=10, delivered=10)
    take(order, acme_user, 10)
    foreign = ProductFactory(manufacturer=globex)
    error = refusal(order, lambda: take(order, acme_user, 1, product_id=foreign.pk))
    assert error.code == "nothing_available"


@pytest.mark.django_db
def test_a_further_original_delivery_makes_more_available_r4(
    seed_order: PurchaseOrder, acme_user: User
) -> None:
    take(seed_order, acme_user, 600)
    original_delivery_record(order_id=seed_order.pk, quantity=400, user=None)
    result = take(seed_order, acme_user, 400)
    assert result.delivery.sequence == 2
    seed_order.refresh_from_db()
    assert (seed_order.new_tokens_delivered, seed_order.available_new_tokens) == (1000, 0)


# --- Idempotency ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_key_five_times_in_a_row_makes_one_delivery(
    seed_order: PurchaseOrder, acme_user: User
) -> None:
    key = uuid.uuid4()
    results = [take(seed_order, acme_user, 250, key=key) for _ in range(5)]
    assert [r.created for r in results] == [True, False, False, False, False]
    assert {r.delivery.pk for r in results} == {results[0].delivery.pk}
    seed_order.refresh_from_db()
    assert seed_order.new_tokens_delivered == 250
    assert NewDelivery.objects.count() == 1
    assert TokenFile.objects.filter(delivery__isnull=False).count() == 1  # one new delivery's
    assert AuditEvent.objects.filter(action="delivery.taken").count() == 1


@pytest.mark.django_db
def test_a_replay_returns_the_delivery_even_once_nothing_is_left(
    seed_order: PurchaseOrder, acme_user: User
) -> None:
    key = uuid.uuid4()
    first = take(seed_order, acme_user, 600, key=key)
    again = take(seed_order, acme_user, 600, key=key)
    assert (again.created, again.delivery) == (False, first.delivery)


@pytest.mark.django_db
def test_the_same_key_with_another_quantity_product_order_or_user_is_refused(
    seed_order: PurchaseOrder, acme: Manufacturer, acme_user: User
) -> None:
    key = uuid.uuid4()
    first, second = seed_order.products.order_by("pk")[:2]
    take(seed_order, acme_user, 250, product_id=first.pk, key=key)
    other_order = delivered_license_order(acme)
    colleague = User.objects.create_user("acme2", manufacturer=acme)
    attempts: list[Callable[[], object]] = [
        lambda: take(seed_order, acme_user, 251, product_id=first.pk, key=key),
        lambda: take(seed_order, acme_user, 250, product_id=second.pk, key=key),
        lambda: take(other_order, acme_user, 250, key=key),
        lambda: take(seed_order, colleague, 250, product_id=first.pk, key=key),
    ]
    for attempt in attempts:
        assert refusal(seed_order, attempt).code == "key_reused"
    assert other_order.new_deliveries.count() == 0


# --- The lock wait -------------------------------------------------------------------------


@contextmanager
def held_elsewhere(lock: Callable[[], object]) -> Iterator[None]:
    """While inside, another connection (a thread) holds the row lock that ``lock`` takes."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                lock()
                locked.set()
                release.wait(timeout=HANG_TIMEOUT_SECONDS)
        finally:
            connection.close()

    [holder] = start_all([hold])
    try:
        wait_for(locked, "the other connection taking the lock")
        yield
    finally:
        release.set()
        join_all([holder])


@pytest.mark.django_db(transaction=True)
def test_a_lock_held_too_long_is_a_polite_busy_refusal(
    acme: Manufacturer, acme_user: User, settings: Settings
) -> None:
    """Someone else holds the order row; the take gives up after the lock timeout with "busy"
    and changes nothing, and goes through once the row is free."""
    order = delivered_license_order(acme, ordered=100, delivered=100)
    settings.ROW_LOCK_TIMEOUT_MS = 200
    with held_elsewhere(lambda: lock_row(PurchaseOrder.objects.all(), pk=order.pk)):
        error = refusal(order, lambda: take(order, acme_user, 1))
    assert error.code == "busy"
    assert "Please try again" in error.message
    assert take(order, acme_user, 1).created


@pytest.mark.django_db(transaction=True)
def test_a_take_locks_the_order_row_only(
    acme: Manufacturer, acme_user: User, settings: Settings
) -> None:
    """Staff saving the manufacturer holds the manufacturer row; a take on one of its orders
    must not wait for that (a FOR UPDATE joined to the manufacturer would)."""
    order = delivered_license_order(acme, ordered=100, delivered=100)
    settings.ROW_LOCK_TIMEOUT_MS = 200
    with held_elsewhere(lambda: Manufacturer.objects.select_for_update().get(pk=acme.pk)):
        assert take(order, acme_user, 1).created
