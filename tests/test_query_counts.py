"""Queries per request of the hot pages: a fixed number, whatever the rows on the page.

A request reads its session from Redis (accounts.sessions: no query while its copy is there) and
then its user with the manufacturer and the two-factor device flag joined
(accounts.backends.PortalBackend); each list adds its (capped) count, its rows and their
prefetches, and nothing per row.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Manufacturer, User
from bench.harness import fill_history
from orders.models import PurchaseOrder
from tests.conftest import login_verified
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

# user (+ manufacturer, device flag), the unread notices of the header's bell: the cost of being
# logged in (the session is read from Redis).
LOGGED_IN = 2


def orders_with_deliveries(
    manufacturer: Manufacturer, user: User, n: int, prefix: str
) -> list[PurchaseOrder]:
    """``n`` more orders, each with one new delivery whose file is READY."""
    product = ProductFactory(manufacturer=manufacturer)
    fill_history(
        manufacturer_id=manufacturer.pk,
        user_id=user.pk,
        product_ids=[product.pk],
        orders=n,
        deliveries=n,
        prefix=prefix,
    )
    return list(PurchaseOrder.objects.filter(number__startswith=f"{prefix}-"))


PAGES: dict[str, tuple[Callable[[PurchaseOrder], str], int]] = {
    # count, rows, products; the tool notice's work order; the notice's order
    "Purchase Order list": (lambda o: reverse("orders:purchase_order_list"), LOGGED_IN + 5),
    # the filter's products, capped count, rows (order, product, user, file joined), workbooks;
    # the notice
    "New delivery list, all orders": (lambda o: reverse("deliveries:delivery_list"), LOGGED_IN + 5),
    # the order; the filter's products, capped count, rows, workbooks; the notice
    "New delivery list of an order": (
        lambda o: reverse("deliveries:order_delivery_list", args=[o.number]),
        LOGGED_IN + 6,
    ),
    # the order, its products twice (offered, all), its availability, its original files
    "Initiate new delivery": (
        lambda o: reverse("deliveries:initiate", args=[o.number]),
        LOGGED_IN + 5,
    ),
}


@pytest.mark.parametrize("page", PAGES)
def test_a_hot_page_costs_a_fixed_number_of_queries(
    page: str,
    acme_client: Client,
    acme: Manufacturer,
    acme_user: User,
    django_assert_max_num_queries: Callable[..., object],
) -> None:
    url_of, most = PAGES[page]
    few = orders_with_deliveries(acme, acme_user, 2, "F")
    acme_client.get(url_of(few[0]))  # the session's first request writes it
    with django_assert_max_num_queries(most):  # type: ignore[operator]
        assert acme_client.get(url_of(few[0])).status_code == 200
    many = orders_with_deliveries(acme, acme_user, 30, "M")  # more than a page of rows
    with django_assert_max_num_queries(most):  # type: ignore[operator]
        assert acme_client.get(url_of(many[0])).status_code == 200


def test_a_verified_session_adds_only_its_device(
    acme: Manufacturer,
    acme_user: User,
    django_assert_max_num_queries: Callable[..., object],
) -> None:
    """A session that passed the two-factor step also loads its device (django-otp), and no
    more: whether two-factor is required is read with the user."""
    orders_with_deliveries(acme, acme_user, 2, "F")
    client = Client()
    login_verified(client, acme_user)
    url = reverse("deliveries:delivery_list")
    client.get(url)
    with django_assert_max_num_queries(LOGGED_IN + 1 + 5):  # type: ignore[operator]
        assert client.get(url).status_code == 200


def test_a_user_with_a_device_is_still_sent_to_verify(acme: Manufacturer, acme_user: User) -> None:
    """The device flag read with the user still sends an unverified session to the code."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=acme_user, name="app", confirmed=True)
    client = Client()
    client.force_login(acme_user)
    response = client.get(reverse("deliveries:delivery_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:two_factor_verify"))
