"""``python manage.py check_invariants``: silent success, or exit status 1 and one line per
violation. The violations are made here by writing as a service would, past the triggers."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from accounts.models import Manufacturer, User
from orders.models import PurchaseOrder
from refurb_portal.writers import NEW_DELIVERY, service_writes
from tests.conftest import delivered_license_order
from tests.tokens.conftest import _remove_token_files, file_of, take
from tokens.generation import token_file_generate
from tokens.models import Token

__all__ = ["_remove_token_files"]

pytestmark = pytest.mark.django_db


def check_invariants() -> tuple[int, list[str]]:
    out = io.StringIO()
    try:
        call_command("check_invariants", stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue().splitlines()
    return 0, out.getvalue().splitlines()


def test_all_hold_after_the_services(acme: Manufacturer, acme_user: User) -> None:
    order = delivered_license_order(acme, delivered=600)
    delivery = take(order, acme_user, 10)
    token_file_generate(token_file_id=file_of(delivery).pk)
    assert check_invariants() == (0, ["All invariants hold."])


def test_a_counter_that_disagrees_with_its_deliveries_is_one_line(
    acme: Manufacturer, acme_user: User
) -> None:
    order = delivered_license_order(acme, delivered=600, number="LIC-BROKEN")
    take(order, acme_user, 100)
    with transaction.atomic(), service_writes(NEW_DELIVERY):
        # The admin's lost update, in range: the CHECK constraint cannot see it.
        PurchaseOrder.objects.filter(pk=order.pk).update(new_tokens_delivered=50)
    assert check_invariants() == (
        1,
        [
            "new tokens counter differs from its new deliveries: LIC-BROKEN: "
            "new_tokens_delivered 50, new deliveries add up to 100"
        ],
    )


def test_a_revoked_token_in_a_downloadable_file_is_one_line(
    acme: Manufacturer, acme_user: User
) -> None:
    order = delivered_license_order(acme, delivered=600, number="LIC-REVOKED")
    delivery = take(order, acme_user, 3)
    token_file_generate(token_file_id=file_of(delivery).pk)
    with transaction.atomic(), service_writes(NEW_DELIVERY):
        Token.objects.filter(delivery=delivery, serial=1).update(
            status=Token.Status.REVOKED, retired_at=timezone.now()
        )
    status, lines = check_invariants()
    assert status == 1
    assert lines == [
        "revoked token in a downloadable file, or a voided delivery's file downloadable: "
        "LIC-REVOKED-N001: file ready, 1 revoked, 2 issued tokens"
    ]
