"""The audit trail is append-only in PostgreSQL itself: no code path, no raw SQL, no admin, no
switch. The application connects as a role that may only INSERT and SELECT on it and cannot
touch its triggers; even the owner meets a trigger that ``pgtrigger.ignore`` does not turn off.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.test import Client
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEvent
from audit.services import audit_record, audit_seal

pytestmark = pytest.mark.django_db

TRIGGERS = "{audit_event_append_only,audit_event_no_truncate,audit_event_chain}"


@pytest.fixture
def event(acme_user: User) -> AuditEvent:
    return audit_record(action="delivery.taken", actor=acme_user, details={"quantity": 5})


def refused(*statements: str, params: list[object] | None = None, match: str | None = None) -> None:
    """The last statement fails (the ones before it prepare it) and the savepoint rolls back."""
    with (
        pytest.raises(DatabaseError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        run(cursor, statements, params)


def run(cursor: CursorWrapper, statements: tuple[str, ...], params: list[object] | None) -> None:
    *preparing, last = statements
    for sql in preparing:
        cursor.execute(sql)
    cursor.execute(last, params)


def test_the_application_connects_as_a_role_without_power_over_the_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolcreaterole, rolbypassrls, "
            "pg_has_role(current_user, (SELECT relowner FROM pg_class "
            "WHERE oid = 'audit_auditevent'::regclass), 'USAGE') "
            "FROM pg_roles WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (settings.DATABASE_APP_ROLE, False, False, False, False)
        cursor.execute(
            "SELECT privilege_type FROM information_schema.role_table_grants "
            "WHERE table_name = 'audit_auditevent' AND grantee = current_user"
        )
        assert {row[0] for row in cursor.fetchall()} == {"INSERT", "SELECT"}


def test_the_application_role_can_neither_change_nor_erase_events(event: AuditEvent) -> None:
    """Each way the trail was erased before: refused, and the event is still there."""
    denied = "permission denied|must be owner"
    ignore = f"SELECT set_config('pgtrigger.ignore', '{TRIGGERS}', true)"
    refused(ignore, "DELETE FROM audit_auditevent WHERE id = %s", params=[event.pk], match=denied)
    refused("UPDATE audit_auditevent SET action = %s WHERE id = %s", params=["forged", event.pk])
    refused("TRUNCATE audit_auditevent", match=denied)
    refused("ALTER TABLE audit_auditevent DISABLE TRIGGER ALL", match=denied)
    refused("DROP TRIGGER audit_event_append_only ON audit_auditevent", match=denied)
    refused("SET session_replication_role = replica", match=denied)
    refused("ALTER TABLE audit_auditevent OWNER TO CURRENT_USER", match=denied)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.details, stored.hash) == (
        "delivery.taken",
        {"quantity": 5},
        event.hash,
    )


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


@pytest.mark.django_db(transaction=True)
def test_even_the_owner_meets_a_trigger_that_pgtrigger_ignore_does_not_switch_off(
    acme_user: User, owner_db: BaseDatabaseWrapper
) -> None:
    event = audit_record(action="delivery.taken", actor=acme_user)
    with owner_db.cursor() as cursor:
        for sql in (
            "DELETE FROM audit_auditevent WHERE id = %s",
            "UPDATE audit_auditevent SET action = 'forged' WHERE id = %s",
        ):
            cursor.execute("BEGIN")
            cursor.execute(f"SELECT set_config('pgtrigger.ignore', '{TRIGGERS}', true)")
            with pytest.raises(DatabaseError, match="append-only"), owner_db.wrap_database_errors:
                cursor.execute(sql, [event.pk])
            cursor.execute("ROLLBACK")
    assert AuditEvent.objects.get(pk=event.pk).action == "delivery.taken"


def test_a_forged_time_or_hash_is_replaced_by_the_database(acme_user: User) -> None:
    """The client cannot back-date an event or place it in the chain: the insert leaves it
    unsealed, and the sealing trigger decides its place and hashes."""
    before = audit_record(action="auth.logged_in", actor=acme_user)
    audit_seal()
    before.refresh_from_db()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (occurred_at, actor_username, action, object_type, "
            "object_id, object_repr, details, chain_position, previous_hash, hash) VALUES "
            "('2001-01-01', 'forger', 'delivery.taken', '', '', '', '{}', 1, 'x', 'y') "
            "RETURNING id"
        )
        forged = AuditEvent.objects.get(pk=cursor.fetchone()[0])
        cursor.execute("SELECT now()")
        now = cursor.fetchone()[0]
    assert forged.occurred_at == now
    assert (forged.chain_position, forged.previous_hash, forged.hash) == (None, "", "")
    audit_seal()
    forged.refresh_from_db()
    assert forged.chain_position == before.chain_position + 1
    assert forged.previous_hash == before.hash
    assert len(forged.hash) == 64
    assert forged.hash not in {"y", before.hash}


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
