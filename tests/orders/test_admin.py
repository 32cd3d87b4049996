from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db.models import QuerySet
from django.test import Client
from django.urls import reverse
from django.utils.http import urlencode

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from orders.models import Module, OriginalDelivery, Product, ProductCategory, PurchaseOrder
from tests.conftest import delivered_license_order
from tests.factories import ModuleFactory, UserFactory

pytestmark = pytest.mark.django_db


def record_url(order: PurchaseOrder) -> str:
    return reverse("admin:orders_purchaseorder_record_delivery", args=[order.pk])


def record_form_key(client: Client, order: PurchaseOrder) -> str:
    """The key of the Record original delivery form as rendered (one per rendering)."""
    page = client.get(record_url(order))
    key = str(page.context["form"]["record_key"].value())
    assert f'name="record_key" value="{key}"' in page.content.decode()
    return key


def test_staff_records_an_original_delivery_through_the_service(
    staff_client: Client, acme: Manufacturer
) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    data = {"quantity": "400", "note": "rest", "record_key": record_form_key(staff_client, order)}
    response = staff_client.post(record_url(order), data)
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.quantity_delivered, order.available_new_tokens) == (1000, 1000)
    delivery = OriginalDelivery.objects.filter(order=order).order_by("-id").first()
    assert delivery is not None
    assert delivery.recorded_by is not None
    assert delivery.recorded_by.username == "staff"


def test_the_record_form_sent_twice_records_one_delivery(
    staff_client: Client, acme: Manufacturer
) -> None:
    """A double click, or the form resent, on a slow link: one delivery, the counter raised once."""
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    data = {"quantity": "100", "record_key": record_form_key(staff_client, order)}
    answers = [staff_client.post(record_url(order), data) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [302, 302]
    order.refresh_from_db()
    assert order.quantity_delivered == 700
    assert OriginalDelivery.objects.filter(order=order).count() == 2  # the first 600, and this
    # A key is bound to its order: sent for another order it records nothing there.
    other = delivered_license_order(acme, ordered=1000, delivered=600)
    refused = staff_client.post(record_url(other), data, headers={"Accept-Language": "en"})
    assert "This form was already used for another order." in refused.content.decode()
    other.refresh_from_db()
    assert other.quantity_delivered == 600


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "greater than or equal to 1"),
        ("-5", "greater than or equal to 1"),
        ("abc", "Enter a whole number"),
        ("401", "Only 400 of the 1000 ordered are still undelivered"),
    ],
)
def test_bad_original_delivery_gets_a_clear_error_and_changes_nothing(
    staff_client: Client, acme: Manufacturer, quantity: str, message: str
) -> None:
    order = delivered_license_order(acme, ordered=1000, delivered=600)
    key = record_form_key(staff_client, order)
    response = staff_client.post(record_url(order), {"quantity": quantity, "record_key": key})
    assert response.status_code == 200
    assert message in response.content.decode()
    order.refresh_from_db()
    assert order.quantity_delivered == 600
    assert OriginalDelivery.objects.filter(order=order).count() == 1


def test_counters_are_read_only_and_deliveries_cannot_be_added_directly(
    staff_client: Client, acme: Manufacturer
) -> None:
    order = delivered_license_order(acme)
    page = staff_client.get(reverse("admin:orders_purchaseorder_change", args=[order.pk]))
    html = page.content.decode()
    assert 'name="quantity_delivered"' not in html
    assert 'name="new_tokens_delivered"' not in html
    assert "Record original delivery" in html
    assert staff_client.get(reverse("admin:orders_originaldelivery_add")).status_code == 403


@dataclass(frozen=True)
class Side:
    """One manufacturer's objects, made alike for Acme and Globex so that a list page that
    ignored its search or filter would show both."""

    manufacturer: Manufacturer
    user: User
    order: PurchaseOrder
    module: Module


@dataclass(frozen=True)
class ListCase:
    search: Callable[[Side], str]  # a term that finds this side's rows and none of the other's
    found: Callable[[Side], QuerySet[Any]]  # the rows the search finds
    filter: Callable[[Side], dict[str, str]] | None = None  # a list filter that keeps this side
    kept: Callable[[Side], QuerySet[Any]] | None = None  # the rows the filter keeps


def by_manufacturer(field: str) -> Callable[[Side], dict[str, str]]:
    return lambda side: {f"{field}__id__exact": str(side.manufacturer.pk)}


LIST_CASES: dict[str, ListCase] = {
    "accounts/manufacturer": ListCase(
        search=lambda s: s.manufacturer.name,
        found=lambda s: Manufacturer.objects.filter(pk=s.manufacturer.pk),
        filter=lambda s: {
            "require_two_factor__exact": "1" if s.manufacturer.require_two_factor else "0"
        },
        kept=lambda s: Manufacturer.objects.filter(pk=s.manufacturer.pk),
    ),
    "accounts/user": ListCase(
        search=lambda s: s.user.username,
        found=lambda s: User.objects.filter(pk=s.user.pk),
        filter=by_manufacturer("manufacturer"),
        kept=lambda s: User.objects.filter(manufacturer=s.manufacturer),
    ),
    "orders/productcategory": ListCase(
        search=lambda s: first_product(s).category.name,
        found=lambda s: ProductCategory.objects.filter(pk=first_product(s).category_id),
    ),
    "orders/module": ListCase(
        search=lambda s: s.module.code,
        found=lambda s: Module.objects.filter(pk=s.module.pk),
    ),
    "orders/product": ListCase(
        search=lambda s: first_product(s).product_id,
        found=lambda s: Product.objects.filter(pk=first_product(s).pk),
        filter=by_manufacturer("manufacturer"),
        kept=lambda s: Product.objects.filter(manufacturer=s.manufacturer),
    ),
    "orders/purchaseorder": ListCase(
        search=lambda s: s.order.number,
        found=lambda s: PurchaseOrder.objects.filter(pk=s.order.pk),
        filter=by_manufacturer("manufacturer"),
        kept=lambda s: PurchaseOrder.objects.filter(manufacturer=s.manufacturer),
    ),
    "orders/originaldelivery": ListCase(
        search=lambda s: s.order.number,
        found=lambda s: OriginalDelivery.objects.filter(order=s.order),
        filter=by_manufacturer("order__manufacturer"),
        kept=lambda s: OriginalDelivery.objects.filter(order__manufacturer=s.manufacturer),
    ),
    "audit/auditevent": ListCase(
        search=lambda s: s.manufacturer.name,
        found=lambda s: AuditEvent.objects.filter(manufacturer=s.manufacturer),
        filter=by_manufacturer("manufacturer"),
        kept=lambda s: AuditEvent.objects.filter(manufacturer=s.manufacturer),
    ),
}


def first_product(side: Side) -> Product:
    product = side.order.products.order_by("pk").first()
    assert product is not None
    return product


def listed(staff_client: Client, model: str, query: dict[str, str]) -> set[int]:
    """The primary keys of the rows the admin list page shows for ``query``."""
    response = staff_client.get(f"/admin/{model}/", query)
    assert response.status_code == 200, (model, query)  # a bad filter redirects with ?e=1
    return {row.pk for row in response.context["cl"].result_list}


def offered_filters(staff_client: Client, model: str) -> set[str]:
    """The query strings of the filter links in the list page's sidebar. The admin applies a
    lookup typed into the URL whether or not it is offered; a person only has the links."""
    changelist = staff_client.get(f"/admin/{model}/").context["cl"]
    return {
        choice["query_string"]
        for spec in changelist.filter_specs
        for choice in spec.choices(changelist)
    }


@pytest.fixture
def sides(acme: Manufacturer, globex: Manufacturer) -> list[Side]:
    Manufacturer.objects.filter(pk=acme.pk).update(require_two_factor=True)
    Manufacturer.objects.filter(pk=globex.pk).update(require_two_factor=False)
    made = []
    for manufacturer, code in ((acme, "MOD-ACME-1"), (globex, "MOD-GLOBEX-1")):
        manufacturer.refresh_from_db()
        made.append(
            Side(
                manufacturer=manufacturer,
                user=UserFactory(manufacturer=manufacturer),
                order=delivered_license_order(manufacturer),
                module=ModuleFactory(code=code),
            )
        )
    return made


@pytest.mark.parametrize("model", sorted(LIST_CASES))
def test_admin_lists_search_and_filter(staff_client: Client, sides: list[Side], model: str) -> None:
    """Each side's search term lists exactly that side's rows, and each side's filter keeps
    that side's rows only: a page that ignored either would list the other side's too."""
    case = LIST_CASES[model]
    for side, other in (sides, sides[::-1]):
        expected = {row.pk for row in case.found(side)}
        assert expected, f"{model}: the test made no row for {side.manufacturer}"
        assert listed(staff_client, model, {"q": case.search(side)}) == expected
        assert not expected & {row.pk for row in case.found(other)}
        if case.filter is not None and case.kept is not None:
            kept = {row.pk for row in case.kept(side)}
            assert kept
            assert f"?{urlencode(case.filter(side))}" in offered_filters(staff_client, model)
            assert listed(staff_client, model, case.filter(side)) == kept
