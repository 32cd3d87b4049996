"""Every security and business event lands in the trail: who, what, which object, when, where."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from deliveries.errors import DeliveryError
from orders.models import PurchaseOrder
from orders.services import original_delivery_record
from tests.conftest import admin_user_change_data
from tests.deliveries.conftest import take

pytestmark = pytest.mark.django_db

LOGIN = "accounts:login"


def last(action: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-id").first()
    assert event is not None, f"no {action} event"
    return event


def test_log_in_and_log_out_are_recorded_with_the_address(client: Client, acme_user: User) -> None:
    response = client.post(
        reverse(LOGIN),
        {"username": "acme", "password": "secret-pass-123"},
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 302
    event = last("auth.logged_in")
    assert (event.actor, event.manufacturer, event.ip_address) == (
        acme_user,
        acme_user.manufacturer,
        "203.0.113.7",
    )
    assert event.occurred_at is not None
    client.post(reverse("accounts:logout"), REMOTE_ADDR="203.0.113.7")
    event = last("auth.logged_out")
    assert (event.actor, event.ip_address) == (acme_user, "203.0.113.7")


def test_a_failed_log_in_is_recorded_against_the_user(client: Client, acme_user: User) -> None:
    client.post(reverse(LOGIN), {"username": "acme", "password": "wrong"})
    event = last("auth.login_failed")
    assert (event.actor, event.manufacturer, event.actor_username) == (
        acme_user,
        acme_user.manufacturer,
        "acme",
    )
    assert "wrong" not in str(event.details)


def test_an_unknown_username_is_not_stored(client: Client, acme_user: User) -> None:
    """People type their password into the name field by mistake; it must not be kept."""
    client.post(reverse(LOGIN), {"username": "hunter2-my-password", "password": "x"})
    event = last("auth.login_failed")
    assert event.actor_username == ""
    assert event.details == {"unknown_username": True}
    assert not AuditEvent.objects.filter(actor_username__contains="hunter2").exists()


def test_a_lockout_is_recorded(client: Client, acme_user: User, settings: object) -> None:
    for _ in range(5):
        client.post(reverse(LOGIN), {"username": "acme", "password": "wrong"})
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 4
    event = last("auth.locked_out")
    assert (event.actor, event.manufacturer) == (acme_user, acme_user.manufacturer)
    # While locked, each attempt (right password included) is recorded as refused.
    client.post(reverse(LOGIN), {"username": "acme", "password": "secret-pass-123"})
    assert AuditEvent.objects.filter(action="auth.locked_out").count() == 2
    assert not AuditEvent.objects.filter(action="auth.logged_in").exists()


def test_admin_add_change_and_delete_are_recorded(staff_client: Client, staff_user: User) -> None:
    response = staff_client.post(
        reverse("admin:accounts_manufacturer_add"), {"name": "Initech", "require_two_factor": ""}
    )
    assert response.status_code == 302
    initech = Manufacturer.objects.get(name="Initech")
    added = last("admin.added")
    assert (added.actor, added.object_type, added.object_id, added.manufacturer) == (
        staff_user,
        "accounts.Manufacturer",
        str(initech.pk),
        initech,
    )
    assert added.ip_address == "127.0.0.1"

    staff_client.post(
        reverse("admin:accounts_manufacturer_change", args=[initech.pk]),
        {"name": "Initech", "require_two_factor": "on"},
    )
    changed = last("admin.changed")
    assert changed.object_id == str(initech.pk)
    assert changed.details["change"] == [
        {"changed": {"fields": ["Require two-factor authentication"]}}
    ]

    staff_client.post(
        reverse("admin:accounts_manufacturer_delete", args=[initech.pk]), {"post": "yes"}
    )
    deleted = last("admin.deleted")
    assert (deleted.object_id, deleted.object_repr) == (str(initech.pk), "Initech")
    assert not Manufacturer.objects.filter(pk=initech.pk).exists()


def test_admin_bulk_delete_records_each_object(staff_client: Client) -> None:
    doomed = [Manufacturer.objects.create(name=f"Doomed {i}") for i in range(3)]
    response = staff_client.post(
        reverse("admin:accounts_manufacturer_changelist"),
        {"action": "delete_selected", "_selected_action": [m.pk for m in doomed], "post": "yes"},
    )
    assert response.status_code == 302
    recorded = set(
        AuditEvent.objects.filter(action="admin.deleted").values_list("object_id", flat=True)
    )
    assert recorded == {str(m.pk) for m in doomed}


def test_every_registered_model_admin_is_audited() -> None:
    """Whatever app registers a ModelAdmin, the site mixes the audit in."""
    from django.contrib import admin

    from audit.admin_log import AuditedModelAdminMixin

    assert admin.site._registry
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, AuditedModelAdminMixin), model


def test_a_staff_change_to_a_manufacturers_user_shows_on_its_activity(
    staff_client: Client, acme_user: User
) -> None:
    url = reverse("admin:accounts_user_change", args=[acme_user.pk])
    data = admin_user_change_data(
        staff_client, acme_user, username="acme", email="acme@example.com", is_active=""
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = last("admin.changed")
    assert event.manufacturer == acme_user.manufacturer


def test_deliveries_and_original_deliveries_are_recorded(
    seed_order: PurchaseOrder, acme_user: User
) -> None:
    result = take(seed_order, acme_user, 10)
    taken = last("delivery.taken")
    assert (taken.actor, taken.manufacturer, taken.object_id) == (
        acme_user,
        seed_order.manufacturer,
        str(result.delivery.pk),
    )
    with pytest.raises(DeliveryError):
        take(seed_order, acme_user, 10_000)
    refused = last("delivery.refused")
    assert refused.details["reason"] == "quantity_exceeds_available"
    original_delivery_record(order_id=seed_order.pk, quantity=400, user=None)
    recorded = last("original_delivery.recorded")
    assert (recorded.manufacturer, recorded.details["quantity"]) == (seed_order.manufacturer, 400)
