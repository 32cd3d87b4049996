"""Which products an order's new tokens apply to: R6 for module orders, R7 for license orders."""

from __future__ import annotations

import uuid

import pytest
from django.utils import translation

from accounts.models import Manufacturer, User
from deliveries.selectors import eligible_products_for_order, new_delivery_options
from deliveries.services import new_delivery_take
from orders.models import Module, Product, PurchaseOrder
from orders.services import original_delivery_record
from tests.factories import (
    CategoryFactory,
    ModuleFactory,
    ModuleOrderFactory,
    ProductFactory,
    PurchaseOrderFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(acme: Manufacturer, globex: Manufacturer) -> dict[str, Product]:
    """Acme's and Globex's products around a WB3S module order for Acme's power strip PS-4."""
    electrical = CategoryFactory(name="Electrical")
    power_strip = CategoryFactory(name="Power strip", parent=electrical)
    socket = CategoryFactory(name="Socket", parent=electrical)
    lighting = CategoryFactory(name="Lighting")
    ceiling = CategoryFactory(name="Ceiling light", parent=lighting)
    wb3s, cb2s, cb3s = (ModuleFactory(code=code) for code in ("WB3S", "CB2S", "CB3S"))

    def product(name: str, category: object, modules: list[object], owner: Manufacturer) -> Product:
        return ProductFactory(name=name, category=category, modules=modules, manufacturer=owner)

    return {
        "PS-4": product("PS-4", power_strip, [wb3s], acme),
        "PS-6": product("PS-6", power_strip, [cb2s], acme),
        "SP-1": product("SP-1", socket, [wb3s], acme),
        "SP-2": product("SP-2", socket, [cb2s, wb3s], acme),
        "SP-3": product("SP-3", socket, [], acme),
        "CL-1": product("CL-1", ceiling, [cb2s], acme),
        "CL-2": product("CL-2", ceiling, [cb3s], acme),
        "EL-0": product("EL-0", electrical, [cb3s], acme),
        "GP-3": product("GP-3", power_strip, [wb3s], globex),
        "GS-2": product("GS-2", socket, [wb3s], globex),
    }


def module_order(catalogue: dict[str, Product], acme: Manufacturer) -> PurchaseOrder:
    return ModuleOrderFactory(
        manufacturer=acme, module=ModuleFactory(code="WB3S"), products=[catalogue["PS-4"]]
    )


@pytest.mark.parametrize(
    ("name", "eligible", "why"),
    [
        ("PS-4", True, "the ordered product itself"),
        ("PS-6", True, "same category as an ordered product, other module"),
        ("SP-1", True, "uses the ordered module, other category"),
        ("SP-2", True, "one of its modules is the ordered one"),
        ("SP-3", False, "other category, no module"),
        ("CL-1", False, "other category, other module"),
        ("CL-2", False, "other category, other module"),
        ("EL-0", False, "the parent category is not the same category"),
        ("GP-3", False, "another manufacturer's, although same category and module"),
        ("GS-2", False, "another manufacturer's, although it uses the module"),
    ],
)
def test_module_order_eligibility_r6(
    catalogue: dict[str, Product], acme: Manufacturer, name: str, eligible: bool, why: str
) -> None:
    order = module_order(catalogue, acme)
    products = eligible_products_for_order(order=order)
    assert (catalogue[name] in products) is eligible, why


def test_module_order_lists_each_product_once_by_name(
    catalogue: dict[str, Product], acme: Manufacturer
) -> None:
    order = module_order(catalogue, acme)
    # Three modules, one of them the ordered one, in the ordered category: one row, not three.
    ProductFactory(
        name="PS-8",
        category=catalogue["PS-4"].category,
        modules=list(Module.objects.filter(code__in=["WB3S", "CB2S", "CB3S"])),
        manufacturer=acme,
    )
    names = [p.name for p in eligible_products_for_order(order=order)]
    assert names == ["PS-4", "PS-6", "PS-8", "SP-1", "SP-2"]


@pytest.mark.parametrize(
    ("name", "eligible", "why"),
    [
        ("PS-4", True, "one of the order's products"),
        ("SP-1", True, "one of the order's products"),
        ("CL-1", True, "one of the order's products"),
        ("PS-6", False, "same category as an order product, but not on the order"),
        ("SP-2", False, "uses the same module as an order product, but not on the order"),
        ("CL-2", False, "not on the order"),
        ("GP-3", False, "another manufacturer's product, even when put on the order"),
    ],
)
def test_license_order_eligibility_r7(
    catalogue: dict[str, Product], acme: Manufacturer, name: str, eligible: bool, why: str
) -> None:
    order = PurchaseOrderFactory(
        manufacturer=acme,
        products=[catalogue["PS-4"], catalogue["SP-1"], catalogue["CL-1"], catalogue["GP-3"]],
    )
    products = eligible_products_for_order(order=order)
    assert (catalogue[name] in products) is eligible, why
    assert [p.name for p in products] == ["CL-1", "PS-4", "SP-1"]


# --- new_delivery_options: the one home of "can this order take new tokens, which, why not" --


def test_options_say_why_each_product_is_offered(
    catalogue: dict[str, Product], acme: Manufacturer
) -> None:
    translation.activate("en")
    order = module_order(catalogue, acme)
    original_delivery_record(order_id=order.pk, quantity=order.quantity_ordered, user=None)
    order.refresh_from_db()
    options = new_delivery_options(order=order)
    reasons = {eligible.product.name: eligible.reasons for eligible in options.products}
    assert reasons == {
        "PS-4": ("uses module WB3S", "same category: Power strip"),
        "PS-6": ("same category: Power strip",),
        "SP-1": ("uses module WB3S",),
        "SP-2": ("uses module WB3S",),
    }
    assert (options.can_take, options.refusal, options.available) == (
        True,
        None,
        order.quantity_delivered,
    )


def test_options_give_the_refusal_code_when_nothing_can_be_taken(
    catalogue: dict[str, Product], acme: Manufacturer, acme_user: User
) -> None:
    translation.activate("en")
    undelivered = module_order(catalogue, acme)
    assert new_delivery_options(order=undelivered).refusal == "order_not_eligible"
    assert not new_delivery_options(order=undelivered).offered

    nobody_s = ModuleOrderFactory(manufacturer=acme, module=ModuleFactory(code="XR1"), products=[])
    original_delivery_record(order_id=nobody_s.pk, quantity=5, user=None)
    nobody_s.refresh_from_db()
    options = new_delivery_options(order=nobody_s)
    assert (options.offered, options.refusal) == (True, "no_eligible_product")
    assert options.refusal_reason.startswith("None of your products")

    used_up = module_order(catalogue, acme)
    original_delivery_record(order_id=used_up.pk, quantity=5, user=None)
    new_delivery_take(
        order_id=used_up.pk,
        product_id=catalogue["PS-4"].pk,
        quantity=5,
        user=acme_user,
        idempotency_key=uuid.uuid4(),
    )
    used_up.refresh_from_db()
    options = new_delivery_options(order=used_up)
    assert (options.offered, options.available, options.refusal) == (True, 0, "nothing_available")
    assert "None is available because as many new tokens have been delivered" in " ".join(
        options.explanation_lines
    )
