from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Manufacturer
from orders.models import PurchaseOrder
from tests.conftest import delivered_license_order
from tests.factories import ModuleFactory, ProductFactory, PurchaseOrderFactory

pytestmark = pytest.mark.django_db
URL = "/purchase/orders/"


def numbers(response: object) -> list[str]:
    return [order.number for order in response.context["page"].object_list]  # type: ignore[attr-defined]


def test_every_portal_page_needs_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_login_page_logs_in_and_lands_on_purchase_orders(client: Client, acme_user: object) -> None:
    response = client.post(
        reverse("accounts:login"), {"username": "acme", "password": "secret-pass-123"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:purchase_order_list")


def test_purchase_order_page_shows_the_seed_order_with_its_counts(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    response = acme_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "LIC-2026-0001" in html
    row = response.context["page"].object_list[0]
    assert (row.quantity_ordered, row.quantity_delivered, row.available) == (1000, 600, 600)
    assert "Initiate new delivery" in html
    assert "Acme Smart Home" in html  # the header names the manufacturer


def test_initiate_is_offered_only_on_orders_with_deliveries_r1(
    acme_client: Client, acme: Manufacturer
) -> None:
    delivered_license_order(acme, delivered=0, number="LIC-NONE")
    response = acme_client.get(URL)
    assert "Initiate new delivery" not in response.content.decode()


def test_another_manufacturer_never_sees_acme_rows(
    globex_client: Client, seed_order: PurchaseOrder, globex: Manufacturer
) -> None:
    delivered_license_order(globex, number="GLX-2026-0001")
    response = globex_client.get(URL, {"q": "LIC-2026-0001"})
    assert numbers(response) == []
    response = globex_client.get(URL)
    assert numbers(response) == ["GLX-2026-0001"]
    assert "LIC-2026-0001" not in response.content.decode()


@pytest.mark.parametrize("url_name", ["deliveries:initiate", "deliveries:order_delivery_list"])
def test_another_manufacturers_order_pages_are_404(
    globex_client: Client, seed_order: PurchaseOrder, url_name: str
) -> None:
    response = globex_client.get(reverse(url_name, args=[seed_order.number]))
    assert response.status_code == 404


def test_staff_is_sent_to_the_admin(staff_client: Client) -> None:
    response = staff_client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_filters_by_type_status_and_date(acme_client: Client, acme: Manufacturer) -> None:
    wb3s = ModuleFactory(code="WB3S")
    plug = ProductFactory(manufacturer=acme, name="Smart Plug SP-1", modules=[wb3s])
    PurchaseOrderFactory(
        manufacturer=acme,
        number="MOD-1",
        order_type=PurchaseOrder.OrderType.MODULE,
        module=wb3s,
        products=[plug],
        created_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    )
    delivered_license_order(acme, number="LIC-1", created_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    assert numbers(acme_client.get(URL, {"order_type": "module"})) == ["MOD-1"]
    assert numbers(acme_client.get(URL, {"order_type": "license"})) == ["LIC-1"]
    assert numbers(acme_client.get(URL, {"status": "partial"})) == ["LIC-1"]
    assert numbers(acme_client.get(URL, {"created_from": "2026-05-01"})) == ["LIC-1"]
    assert numbers(acme_client.get(URL, {"created_to": "2026-05-01"})) == ["MOD-1"]


def test_search_by_number_contract_product_id_and_name(
    acme_client: Client, acme: Manufacturer
) -> None:
    product = ProductFactory(manufacturer=acme, name="Door Sensor DS-1", product_id="ds1abc")
    PurchaseOrderFactory(
        manufacturer=acme, number="LIC-A", contract_number="CT-XYZ", products=[product]
    )
    PurchaseOrderFactory(manufacturer=acme, number="LIC-B")
    for term in ["LIC-A", "ct-xyz", "ds1abc", "door sensor"]:
        assert numbers(acme_client.get(URL, {"q": term})) == ["LIC-A"], term


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"created_from": "2026-13-45"}, "Enter a valid date"),
        ({"order_type": "bogus"}, "Select a valid choice"),
        ({"created_from": "2026-05-02", "created_to": "2026-05-01"}, "before the start date"),
    ],
)
def test_invalid_filters_show_a_message_never_a_500(
    acme_client: Client, seed_order: PurchaseOrder, params: dict[str, str], message: str
) -> None:
    response = acme_client.get(URL, params)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert numbers(response) == ["LIC-2026-0001"]


def test_paging_25_a_page_and_bad_page_numbers(acme_client: Client, acme: Manufacturer) -> None:
    PurchaseOrderFactory.create_batch(60, manufacturer=acme)
    first = acme_client.get(URL)
    assert len(numbers(first)) == 25
    assert first.context["page"].paginator.num_pages == 3
    assert len(numbers(acme_client.get(URL, {"page": "3"}))) == 10
    assert acme_client.get(URL, {"page": "abc"}).context["page"].number == 1
    assert acme_client.get(URL, {"page": "99999"}).context["page"].number == 3


def test_htmx_request_gets_the_results_partial_and_vary(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    response = acme_client.get(URL, {"q": "LIC"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]
    full = acme_client.get(URL, {"q": "LIC"})
    assert "<html" in full.content.decode()


def test_query_count_does_not_grow_with_rows(acme_client: Client, acme: Manufacturer) -> None:
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert acme_client.get(URL).status_code == 200
        return len(ctx.captured_queries)

    delivered_license_order(acme)
    one = count_queries()
    for _ in range(49):
        delivered_license_order(acme)
    assert PurchaseOrder.objects.filter(manufacturer=acme).count() == 50
    assert count_queries() == one
