"""Demo data for make run: two manufacturers, staff, the catalogue and the seed's orders.

Idempotent: running it again finds what is there and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo import demo_totp_device_ensure
from accounts.models import Manufacturer, User
from orders.models import Module, Product, ProductCategory, PurchaseOrder
from orders.services import original_delivery_record

DEMO_LOGINS = [
    ("acme", "acme-demo-2026", "Acme Smart Home"),
    ("globex", "globex-demo-2026", "Globex Devices"),
    ("staff", "staff-demo-2026", None),
    # Acme's colleagues with the two other roles (accounts.access): one plans, one only reads.
    ("acme-planner", "acme-demo-2026", "Acme Smart Home"),
    ("acme-viewer", "acme-demo-2026", "Acme Smart Home"),
]
DEMO_ROLES = {"acme-planner": User.Role.PLANNER, "acme-viewer": User.Role.VIEWER}
# Where the demo people work: a factory in Shenzhen, one in Munich; staff keep UTC (no zone).
DEMO_TIME_ZONES = {
    "Acme Smart Home": "Asia/Shanghai",
    "Globex Devices": "Europe/Berlin",
}

ACME_PRODUCTS = [
    ("Smart Power Strip PS-4", ("Electrical", "Power strip"), ["WB3S"]),
    ("Power Strip PS-6", ("Electrical", "Power strip"), ["CB2S"]),
    ("Smart Plug SP-1", ("Electrical", "Socket"), ["WB3S"]),
    ("Ceiling Light CL-1", ("Lighting", "Ceiling light"), ["CB2S"]),
    ("Door Sensor DS-1", ("Sensors", "Door and window sensor"), ["CB3S"]),
    ("Motion Sensor MS-1", ("Sensors", "Motion sensor"), ["CB3S"]),
    ("Smart Bulb SB-1", ("Lighting", "Bulb"), ["WB2L"]),
    ("Water Leak Sensor WL-1", ("Sensors", "Water leak sensor"), ["CB3S"]),
]

GLOBEX_PRODUCTS = [
    ("Globex Smart Switch GS-2", ("Electrical", "Switch"), ["WB3S"]),
    ("Globex Power Strip GP-3", ("Electrical", "Power strip"), ["WB3S"]),
    ("Globex Camera GC-1", ("Security", "Camera"), ["WB2L"]),
]

MODULES = {
    "WB3S": "Wi-Fi module, ESP-compatible footprint",
    "CB2S": "Wi-Fi and BLE module, small footprint",
    "CB3S": "Wi-Fi and BLE module",
    "WB2L": "Wi-Fi module for lighting",
}

BASE_DAY = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def product_id_for(name: str) -> str:
    """A stable product ID of the platform's kind: 16 lowercase letters and digits."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[int(digest[i : i + 2], 16) % 36] for i in range(0, 32, 2))


class Command(BaseCommand):
    help = "Load the demo manufacturers, users, catalogue and orders (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        # Without a broker (make run) the seed's token files are made here, each with its own
        # log lines: sixty of them would bury the address and logins printed next. Errors show.
        logging.disable(logging.WARNING)
        try:
            self._load()
        finally:
            logging.disable(logging.NOTSET)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def _load(self) -> None:
        with transaction.atomic():
            staff = self._users()
            acme = Manufacturer.objects.get(name="Acme Smart Home")
            globex = Manufacturer.objects.get(name="Globex Devices")
            for code, description in MODULES.items():
                Module.objects.get_or_create(code=code, defaults={"description": description})
            acme_products = self._products(acme, ACME_PRODUCTS)
            globex_products = self._products(globex, GLOBEX_PRODUCTS)
        self._acme_orders(acme, acme_products, staff)
        self._globex_orders(globex, globex_products, staff)

    def _users(self) -> User:
        staff_user: User | None = None
        for username, password, company in DEMO_LOGINS:
            zone = DEMO_TIME_ZONES.get(company or "", "")
            manufacturer = (
                Manufacturer.objects.get_or_create(name=company, defaults={"time_zone": zone})[0]
                if company
                else None
            )
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "time_zone": zone,
                    "manufacturer": manufacturer,
                    "is_staff": company is None,
                    "is_superuser": company is None,
                    "email": f"{username}@example.com",
                    "role": DEMO_ROLES.get(username, User.Role.ADMINISTRATOR),
                },
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            if company is None:
                staff_user = user
        assert staff_user is not None
        # Staff need a second factor for the admin: the demo one has a public key, so that
        # `manage.py demo_totp` can print its current code (see the README).
        demo_totp_device_ensure(user=staff_user)
        return staff_user

    def _category(self, path: tuple[str, str]) -> ProductCategory:
        root, _ = ProductCategory.objects.get_or_create(name=path[0], parent=None)
        leaf, _ = ProductCategory.objects.get_or_create(name=path[1], parent=root)
        return leaf

    def _products(
        self, manufacturer: Manufacturer, rows: list[tuple[str, tuple[str, str], list[str]]]
    ) -> dict[str, Product]:
        products = {}
        for name, category, modules in rows:
            product, created = Product.objects.get_or_create(
                product_id=product_id_for(name),
                defaults={
                    "name": name,
                    "category": self._category(category),
                    "manufacturer": manufacturer,
                },
            )
            if created:
                product.modules.set(Module.objects.filter(code__in=modules))
            products[name.split()[-1]] = product
        return products

    def _order(
        self,
        *,
        number: str,
        manufacturer: Manufacturer,
        order_type: str,
        products: list[Product],
        ordered: int,
        delivered: list[int],
        created_at: dt.datetime,
        staff: User,
        module: str | None = None,
    ) -> None:
        if PurchaseOrder.objects.filter(number=number).exists():
            return
        with transaction.atomic():
            order = PurchaseOrder.objects.create(
                number=number,
                contract_number=f"CT-{number}",
                manufacturer=manufacturer,
                order_type=order_type,
                module=Module.objects.get(code=module) if module else None,
                quantity_ordered=ordered,
                created_at=created_at,
            )
            order.products.set(products)
            for index, quantity in enumerate(delivered):
                original_delivery_record(
                    order_id=order.pk,
                    quantity=quantity,
                    user=staff,
                    delivered_at=created_at + dt.timedelta(days=3 + 7 * index),
                    note="Demo data",
                )

    def _acme_orders(self, acme: Manufacturer, p: dict[str, Product], staff: User) -> None:
        lic, mod = PurchaseOrder.OrderType.LICENSE, PurchaseOrder.OrderType.MODULE
        # The seed's worked example: 1000 tokens ordered, 600 delivered, 600 available.
        self._order(
            number="LIC-2026-0001",
            manufacturer=acme,
            order_type=lic,
            products=[p["DS-1"], p["MS-1"], p["SB-1"]],
            ordered=1000,
            delivered=[600],
            created_at=BASE_DAY + dt.timedelta(days=300),
            staff=staff,
        )
        self._order(
            number="MOD-2026-0001",
            manufacturer=acme,
            order_type=mod,
            module="WB3S",
            products=[p["PS-4"]],
            ordered=500,
            delivered=[300, 200],
            created_at=BASE_DAY + dt.timedelta(days=299),
            staff=staff,
        )
        self._order(
            number="LIC-2026-0002",
            manufacturer=acme,
            order_type=lic,
            products=[p["WL-1"]],
            ordered=200,
            delivered=[],
            created_at=BASE_DAY + dt.timedelta(days=298),
            staff=staff,
        )
        # Further orders so the list pages and every filter has something to show.
        license_sets = [[p["DS-1"]], [p["MS-1"], p["WL-1"]], [p["SB-1"]], [p["CL-1"]]]
        module_sets = [("WB3S", [p["SP-1"]]), ("CB2S", [p["CL-1"]]), ("CB2S", [p["PS-6"]])]
        for i in range(3, 35):
            ordered = 100 * (1 + i % 7)
            delivered = [] if i % 5 == 0 else [ordered // 2] if i % 3 else [ordered]
            self._order(
                number=f"LIC-2026-{i:04d}",
                manufacturer=acme,
                order_type=lic,
                products=license_sets[i % len(license_sets)],
                ordered=ordered,
                delivered=delivered,
                created_at=BASE_DAY + dt.timedelta(days=8 * i % 290),
                staff=staff,
            )
        for i in range(2, 34):
            ordered = 250 * (1 + i % 4)
            delivered = [] if i % 6 == 0 else [ordered] if i % 2 else [ordered // 5]
            module, products = module_sets[i % len(module_sets)]
            self._order(
                number=f"MOD-2026-{i:04d}",
                manufacturer=acme,
                order_type=mod,
                module=module,
                products=products,
                ordered=ordered,
                delivered=delivered,
                created_at=BASE_DAY + dt.timedelta(days=(5 * i + 3) % 290, hours=i),
                staff=staff,
            )

    def _globex_orders(self, globex: Manufacturer, p: dict[str, Product], staff: User) -> None:
        self._order(
            number="GLX-2026-0001",
            manufacturer=globex,
            order_type=PurchaseOrder.OrderType.LICENSE,
            products=[p["GS-2"], p["GC-1"]],
            ordered=800,
            delivered=[400],
            created_at=BASE_DAY + dt.timedelta(days=200),
            staff=staff,
        )
        self._order(
            number="GLX-2026-0002",
            manufacturer=globex,
            order_type=PurchaseOrder.OrderType.MODULE,
            module="WB3S",
            products=[p["GP-3"]],
            ordered=300,
            delivered=[300],
            created_at=BASE_DAY + dt.timedelta(days=210),
            staff=staff,
        )
        for i in range(3, 8):
            self._order(
                number=f"GLX-2026-{i:04d}",
                manufacturer=globex,
                order_type=PurchaseOrder.OrderType.LICENSE,
                products=[p["GC-1"]],
                ordered=100 * i,
                delivered=[50 * i],
                staff=staff,
                created_at=BASE_DAY + dt.timedelta(days=20 * i),
            )
