"""The audit trail is append-only in PostgreSQL itself: no code path, no raw SQL, no admin."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(acme_user: User) -> AuditEvent:
    return audit_record(action="delivery.taken", actor=acme_user, details={"quantity": 5})


def refused(sql: str, params: list[object]) -> None:
    with (
        pytest.raises(DatabaseError, match="Cannot update or delete"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


def test_the_database_refuses_a_raw_update(event: AuditEvent) -> None:
    refused("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["forged", event.pk])
    refused("UPDATE audit_auditevent SET details = '{}'::jsonb", [])
    event.refresh_from_db()
    assert (event.action, event.details) == ("delivery.taken", {"quantity": 5})


def test_the_database_refuses_a_raw_delete(event: AuditEvent) -> None:
    refused("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    refused("DELETE FROM audit_auditevent", [])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_orm_cannot_change_or_delete_an_event(event: AuditEvent) -> None:
    event.action = "forged"
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor_username="someone else")
    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.actor_username) == ("delivery.taken", "acme")


def test_the_admin_can_neither_change_nor_delete(staff_client: Client, event: AuditEvent) -> None:
    change = reverse("admin:audit_auditevent_change", args=[event.pk])
    page = staff_client.get(change)
    assert page.status_code == 200
    assert 'name="action"' not in page.content.decode()  # read-only
    assert staff_client.post(change, {"action": "forged"}).status_code == 403
    delete = reverse("admin:audit_auditevent_delete", args=[event.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert staff_client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    bulk = staff_client.post(
        reverse("admin:audit_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert bulk.status_code in {200, 302}
    event.refresh_from_db()
    assert event.action == "delivery.taken"


def test_deleting_a_user_keeps_their_history(acme_user: User, event: AuditEvent) -> None:
    """History is not rewritten when a user is deleted: no SET NULL, the name stays."""
    user_id = acme_user.pk
    acme_user.delete()
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor_id == user_id
    assert stored.actor_username == "acme"
