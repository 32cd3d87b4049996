"""Original deliveries issue their tokens (issue #16): the same job, a license order's License
List for its manufacturer, a module order's credentials recorded but not offered; reversing one
revokes its tokens, or is refused once any was replaced."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Manufacturer, User
from orders.errors import OrderError
from orders.services import original_delivery_record, original_delivery_reverse
from refurb_portal.invariants import invariant_violations
from tests.conftest import delivered_license_order
from tests.deliveries.test_targeted import (
    _remove_stored_files,
    order_with_tokens,
    stored,
    targeted_take,
)
from tests.factories import ModuleOrderFactory, ProductFactory
from tokens.generation import token_file_generate
from tokens.models import Token, TokenFile

__all__ = ["_remove_stored_files"]

pytestmark = pytest.mark.django_db


def test_an_original_delivery_issues_its_tokens_numbered_with_its_order(
    acme: Manufacturer,
) -> None:
    order = order_with_tokens(acme, delivered=7, number="LIC-ORIG-7")
    original = order.original_deliveries.get()
    tokens = Token.objects.filter(original_delivery=original)
    assert sorted(tokens.values_list("serial", flat=True)) == list(range(1, 8))
    assert set(tokens.values_list("order_id", "status", "delivery_id")) == {
        (order.pk, "issued", None)
    }
    token_file = TokenFile.objects.get(original_delivery=original)
    assert token_file.file_name == "LIC-ORIG-7-O001-tokens.csv"
    assert invariant_violations() == []


def test_a_module_order_records_its_credentials_without_offering_them(
    acme: Manufacturer, acme_client: Client
) -> None:
    order = ModuleOrderFactory(
        manufacturer=acme, quantity_ordered=5, products=[ProductFactory(manufacturer=acme)]
    )
    original = original_delivery_record(order_id=order.pk, quantity=5, user=None)
    made = token_file_generate(token_file_id=TokenFile.objects.get(original_delivery=original).pk)
    assert made is not None
    assert made.status == TokenFile.Status.READY
    assert Token.objects.filter(original_delivery=original, order=order).count() == 5
    url = reverse("tokens:original_download", args=[original.pk, "csv", 1])
    assert acme_client.get(url).status_code == 404


def test_reversing_revokes_its_tokens_and_voids_its_file(
    acme: Manufacturer, staff_user: User
) -> None:
    order = order_with_tokens(acme, delivered=4, number="LIC-REV")
    original = order.original_deliveries.get()
    original_delivery_reverse(original_delivery_id=original.pk, user=staff_user, reason="typo")
    tokens = Token.objects.filter(original_delivery=original)
    assert set(tokens.values_list("status", flat=True)) == {Token.Status.REVOKED}
    assert not tokens.filter(retired_at__isnull=True).exists()
    assert TokenFile.objects.get(original_delivery=original).status == TokenFile.Status.VOIDED
    assert invariant_violations() == []


def test_reversing_is_refused_once_a_token_of_it_was_replaced(
    acme: Manufacturer, acme_user: User, staff_user: User
) -> None:
    order = delivered_license_order(acme, ordered=20, delivered=10, number="LIC-REV-REPL")
    second = original_delivery_record(order_id=order.pk, quantity=10, user=None)
    for token_file in TokenFile.objects.filter(original_delivery__order=order):
        token_file_generate(token_file_id=token_file.pk)
    first = order.original_deliveries.exclude(pk=second.pk).get()
    listed = Token.objects.filter(original_delivery=first).values_list("uuid", flat=True)[:1]
    targeted_take(order, acme_user, stored(order, list(listed)), 1)
    with pytest.raises(OrderError) as refused:
        original_delivery_reverse(original_delivery_id=first.pk, user=staff_user, reason="x")
    assert refused.value.code == "reversal_tokens_replaced"
    assert "1 of its tokens were already replaced" in refused.value.message
    first.refresh_from_db()
    assert not first.is_reversed
    assert Token.objects.filter(original_delivery=first, status="issued").count() == 9
    # The other one, none of whose tokens was replaced, may be reversed.
    original_delivery_reverse(original_delivery_id=second.pk, user=staff_user, reason="typo")
    assert invariant_violations() == []
