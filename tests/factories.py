"""factory-boy factories for every model the tests build."""

from __future__ import annotations

import itertools
from typing import Any

import factory
from factory.django import DjangoModelFactory

from accounts.models import Manufacturer, User
from orders.models import Module, OriginalDelivery, Product, ProductCategory, PurchaseOrder

_product_ids = itertools.count(1)


class ManufacturerFactory(DjangoModelFactory[Manufacturer]):
    class Meta:
        model = Manufacturer
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Manufacturer {n}")


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    manufacturer = factory.SubFactory(ManufacturerFactory)
    password = factory.PostGenerationMethodCall("set_password", "secret-pass-123")

    @classmethod
    def _after_postgeneration(cls, instance: User, create: bool, results: Any = None) -> None:
        if create:
            instance.save()


class StaffUserFactory(UserFactory):
    manufacturer = None
    is_staff = True
    is_superuser = True


class CategoryFactory(DjangoModelFactory[ProductCategory]):
    class Meta:
        model = ProductCategory
        django_get_or_create = ("name", "parent")

    name = factory.Sequence(lambda n: f"Category {n}")
    parent = None


class ModuleFactory(DjangoModelFactory[Module]):
    class Meta:
        model = Module
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"MOD{n}")


class ProductFactory(DjangoModelFactory[Product]):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    product_id = factory.LazyFunction(lambda: f"p{next(_product_ids):015d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    category = factory.SubFactory(CategoryFactory)
    manufacturer = factory.SubFactory(ManufacturerFactory)

    @factory.post_generation
    def modules(self, create: bool, extracted: list[Module] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.modules.set(extracted)  # type: ignore[attr-defined]


class PurchaseOrderFactory(DjangoModelFactory[PurchaseOrder]):
    """A device license order by default; ``order_type=MODULE`` with a ``module`` for the other."""

    class Meta:
        model = PurchaseOrder
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: f"PO-{n:06d}")
    contract_number = factory.LazyAttribute(lambda o: f"CT-{o.number}")
    manufacturer = factory.SubFactory(ManufacturerFactory)
    order_type = PurchaseOrder.OrderType.LICENSE
    module = None
    quantity_ordered = 1000

    @factory.post_generation
    def products(self, create: bool, extracted: list[Product] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.products.set(extracted)  # type: ignore[attr-defined]


class OriginalDeliveryFactory(DjangoModelFactory[OriginalDelivery]):
    class Meta:
        model = OriginalDelivery

    order = factory.SubFactory(PurchaseOrderFactory)
    # The next of its order, as orders.services.original_delivery_record assigns it.
    sequence = factory.LazyAttribute(
        lambda d: OriginalDelivery.objects.filter(order=d.order).count() + 1
    )
    quantity = 100


# --- workorders (issue 5) -------------------------------------------------------------------
# Built directly, status and all, to put a work order in any state; the services are tested
# on their own and build their rows themselves.
import uuid  # noqa: E402

from workorders.models import WorkOrder  # noqa: E402


class WorkOrderFactory(DjangoModelFactory[WorkOrder]):
    class Meta:
        model = WorkOrder

    manufacturer = factory.SubFactory(ManufacturerFactory)
    submitted_by = factory.SubFactory(
        UserFactory, manufacturer=factory.SelfAttribute("..manufacturer")
    )
    type = WorkOrder.Type.TOOL
    description = "Please send the refurbishment tool."
    contact = "Jane Doe, +86 21 5555 0100"
    submission_key = factory.LazyFunction(uuid.uuid4)


# --- deliveries (issue #3) -----------------------------------------------------------------


class ModuleOrderFactory(PurchaseOrderFactory):
    """A module order of one module; pass ``products`` for the products it was ordered for."""

    order_type = PurchaseOrder.OrderType.MODULE
    module = factory.SubFactory(ModuleFactory)
