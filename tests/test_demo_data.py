from __future__ import annotations

import io
import logging

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import User
from deliveries.selectors import eligible_products_for_order
from orders.models import OriginalDelivery, Product, PurchaseOrder
from refurb_portal.celery import app as celery_app
from tokens.models import TokenFile


@pytest.mark.django_db
def test_demo_data_is_idempotent_and_walks_both_rules() -> None:
    call_command("demo_data")
    counts = (
        PurchaseOrder.objects.count(),
        OriginalDelivery.objects.count(),
        Product.objects.count(),
        User.objects.count(),
    )
    call_command("demo_data")
    assert counts == (
        PurchaseOrder.objects.count(),
        OriginalDelivery.objects.count(),
        Product.objects.count(),
        User.objects.count(),
    )
    seed = PurchaseOrder.objects.get(number="LIC-2026-0001")
    assert (seed.quantity_ordered, seed.quantity_delivered, seed.available_new_tokens) == (
        1000,
        600,
        600,
    )
    assert PurchaseOrder.objects.filter(manufacturer__name="Acme Smart Home").count() >= 63
    module_order = PurchaseOrder.objects.get(number="MOD-2026-0001")
    eligible = {p.name for p in eligible_products_for_order(order=module_order)}
    assert eligible == {"Smart Power Strip PS-4", "Power Strip PS-6", "Smart Plug SP-1"}
    license_order = PurchaseOrder.objects.get(number="LIC-2026-0002")
    assert license_order.quantity_delivered == 0
    assert PurchaseOrder.objects.filter(number="GLX-2026-0001").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("acme", "acme-demo-2026"),
        ("globex", "globex-demo-2026"),
        ("staff", "staff-demo-2026"),
        ("acme-planner", "acme-demo-2026"),
        ("acme-viewer", "acme-demo-2026"),
    ],
)
def test_demo_logins_work(client: Client, username: str, password: str) -> None:
    call_command("demo_data")
    response = client.post(reverse("accounts:login"), {"username": username, "password": password})
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(User.objects.get(username=username).pk)


@pytest.mark.django_db(transaction=True)
def test_demo_data_prints_one_line_and_leaves_logging_on(caplog: pytest.LogCaptureFixture) -> None:
    # make run prints the address and the logins right after it: the seed's token files, made
    # here without a broker, must not bury them in log lines.
    # As make run does: no broker, so the jobs run in this process (each logs a line or two).
    out = io.StringIO()
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with caplog.at_level(logging.INFO):
            call_command("demo_data", stdout=out)
    finally:
        celery_app.conf.task_always_eager = previous
    assert TokenFile.objects.filter(status=TokenFile.Status.READY).count() > 50
    assert out.getvalue().strip() == "Demo data ready."
    assert [r for r in caplog.records if r.levelno < logging.ERROR] == []
    assert logging.root.manager.disable == logging.NOTSET
