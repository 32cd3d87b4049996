"""Every admin change form of the models a rule depends on, submitted with each editable field
changed (to valid and to invalid values): never an error page, and the invariants hold after
every submission (``check_invariants``)."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import models
from django.test import Client
from django.urls import reverse

from accounts.models import Manufacturer, User
from deliveries.services import new_delivery_void
from orders.models import OriginalDelivery, PurchaseOrder
from refurb_portal.invariants import invariant_violations
from tests.admin_forms import changed_values, form_data, form_fields
from tests.conftest import delivered_license_order
from tests.factories import ProductFactory, WorkOrderFactory
from tests.tokens.conftest import _remove_token_files, file_of, take
from tokens.generation import token_file_generate
from tokens.models import Token
from tokens.services import token_file_download_record

__all__ = ["_remove_token_files"]

pytestmark = pytest.mark.django_db


def change_url(obj: models.Model) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def walk(client: Client, obj: models.Model) -> Counter[int]:
    """Submit ``obj``'s change form once per changed value of each editable field."""
    url = change_url(obj)
    form_id = f"{obj._meta.model_name}_form"
    page = client.get(url)
    assert page.status_code == 200, url
    fields = form_fields(page.content.decode(), form_id)
    statuses: Counter[int] = Counter()
    for name, entry in sorted(fields.items()):
        if not entry.editable:
            continue
        for value in changed_values(entry):
            # Rendered afresh each time: the form as staff would see it now.
            data = form_data(form_fields(client.get(url).content.decode(), form_id))
            data[name] = value
            data["_save"] = ["Save"]
            response = client.post(url, data)
            statuses[response.status_code] += 1
            assert response.status_code < 500, (name, value)
            assert invariant_violations() == [], (name, value)
    return statuses


@pytest.fixture
def world(acme: Manufacturer, acme_user: User, globex: Manufacturer) -> list[models.Model]:
    ProductFactory.create_batch(2, manufacturer=globex)
    delivered = delivered_license_order(acme, ordered=1000, delivered=600)
    downloaded = take(delivered, acme_user, 100)
    token_file_generate(token_file_id=file_of(downloaded).pk)
    token_file_download_record(token_file=file_of(downloaded), user=acme_user)
    voided = take(delivered, acme_user, 50)
    token_file_generate(token_file_id=file_of(voided).pk)
    new_delivery_void(delivery_id=voided.pk, user=acme_user, reason="mistake")
    undelivered = delivered_license_order(acme, delivered=0)
    product = delivered.products.order_by("pk").first()
    token = Token.objects.filter(delivery=downloaded).first()
    assert product is not None
    assert token is not None
    return [
        delivered,
        undelivered,
        product,
        ProductFactory(manufacturer=acme),  # on no order: its manufacturer may change
        OriginalDelivery.objects.filter(order=delivered).first(),
        downloaded,
        voided,
        file_of(downloaded),
        file_of(voided),
        token,
        WorkOrderFactory(manufacturer=acme, order=delivered),
    ]


def test_every_change_form_keeps_the_invariants_and_never_fails(
    staff_client: Client, world: list[models.Model]
) -> None:
    assert invariant_violations() == []
    totals: Counter[int] = Counter()
    for obj in world:
        totals += walk(staff_client, obj)
        # Read-only records: shown, and a POST is refused (403), never saved.
        if not isinstance(obj, PurchaseOrder) and obj._meta.model_name != "product":
            assert staff_client.post(change_url(obj), {"_save": "Save"}).status_code == 403
    # Some changes were saved, some refused with a form error: both paths were walked.
    assert totals[302] > 0
    assert totals[200] > 0
    assert set(totals) <= {200, 302}
