"""Sealing the audit chain after the commit (migration audit.0005): events are inserted
unsealed, without the chain's lock; one appender at a time seals the committed ones into a single
gapless chain. Sealing is the only change PostgreSQL lets through, and it cannot alter an event.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pytest_django.fixtures import Settings

from accounts.models import User
from audit import tasks
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import audit_record, audit_seal, audit_seal_all
from tests.audit.test_chain import owner_runs
from tests.threads import barrier, join_all, start_all
from tests.tokens.test_relay import running_relay

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6
EVENTS_PER_THREAD = 15


@pytest.fixture(autouse=True)
def _sealed_later(settings: Settings) -> Iterator[None]:
    """Events stay unsealed until a sealer runs (as in production, where the relay seals)."""
    settings.AUDIT_SEAL_ON_COMMIT = False
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def positions() -> list[int | None]:
    return list(AuditEvent.objects.order_by("id").values_list("chain_position", flat=True))


def test_concurrent_inserts_then_one_seal_make_one_gapless_chain(acme_user: User) -> None:
    start = barrier(THREADS)

    def insert(thread: int) -> None:
        try:
            start.wait()
            for n in range(EVENTS_PER_THREAD):
                audit_record(action="auth.logged_in", actor=acme_user, details={"n": (thread, n)})
        finally:
            connection.close()

    join_all(start_all([lambda t=t: insert(t) for t in range(THREADS)]))
    count = AuditEvent.objects.count()
    assert count >= THREADS * EVENTS_PER_THREAD
    assert set(positions()) == {None}
    state = audit_chain_verify()
    assert (state.intact, state.checked, state.unsealed) == (True, 0, count)

    assert audit_seal_all() == count
    assert sorted(positions()) == list(range(1, count + 1))  # type: ignore[type-var]
    state = audit_chain_verify()
    assert (state.intact, state.checked, state.unsealed) == (True, count, 0)
    assert audit_seal() == 0


def test_sealers_at_once_seal_each_event_once(acme_user: User) -> None:
    """Two sealers and writers at the same time: the advisory lock lets one sealer in at a time,
    so the chain stays one."""
    start = barrier(4)

    def write() -> None:
        try:
            start.wait()
            for _ in range(EVENTS_PER_THREAD):
                audit_record(action="auth.logged_out", actor=acme_user)
        finally:
            connection.close()

    def seal() -> None:
        try:
            start.wait()
            for _ in range(EVENTS_PER_THREAD):
                audit_seal(max_rows=3)
        finally:
            connection.close()

    join_all(start_all([write, write, seal, seal]))
    audit_seal_all()
    count = AuditEvent.objects.count()
    assert sorted(positions()) == list(range(1, count + 1))  # type: ignore[type-var]
    assert audit_chain_verify().intact


@pytest.mark.parametrize("sealed", [False, True])
def test_no_role_can_change_or_delete_an_event_sealed_or_not(
    acme_user: User, owner_db: BaseDatabaseWrapper, sealed: bool
) -> None:
    event = audit_record(action="delivery.taken", actor=acme_user, details={"quantity": 5})
    if sealed:
        audit_seal()
    before = AuditEvent.objects.get(pk=event.pk)
    tampering = [
        "UPDATE audit_auditevent SET details = '{\"quantity\": 500}' WHERE id = %s",
        "UPDATE audit_auditevent SET occurred_at = occurred_at - interval '1 day' WHERE id = %s",
        # Content changed together with chain values: still a change of content.
        "UPDATE audit_auditevent SET action = 'forged', chain_position = NULL WHERE id = %s",
        "UPDATE audit_auditevent SET chain_position = 7, hash = '' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ]
    for statement in tampering:
        if not sealed and "chain_position = 7" in statement:
            continue  # unsealed, that is a sealing (test below)
        with (
            owner_db.cursor() as cursor,
            pytest.raises(DatabaseError, match="append-only"),
            owner_db.wrap_database_errors,
        ):
            cursor.execute(statement, [event.pk])
    # The application's role may not even try.
    seal = "UPDATE audit_auditevent SET chain_position = NULL WHERE id = %s"
    with connection.cursor() as cursor, pytest.raises(DatabaseError, match="permission denied"):
        cursor.execute(seal, [event.pk])
    after = AuditEvent.objects.get(pk=event.pk)
    assert [getattr(after, f.attname) for f in AuditEvent._meta.fields] == [
        getattr(before, f.attname) for f in AuditEvent._meta.fields
    ]


def test_an_update_choosing_chain_values_gets_the_computed_ones(
    acme_user: User, owner_db: BaseDatabaseWrapper
) -> None:
    """Whoever may UPDATE can only seal an event early: the trigger computes its place."""
    first = audit_record(action="auth.logged_in", actor=acme_user)
    audit_seal()
    second = audit_record(action="auth.logged_out", actor=acme_user)
    with owner_db.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET chain_position = 99, previous_hash = repeat('a', 64), "
            "hash = repeat('b', 64) WHERE id = %s",
            [second.pk],
        )
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.chain_position == first.chain_position + 1  # type: ignore[operator]
    assert second.previous_hash == first.hash
    assert second.hash not in {"a" * 64, "b" * 64, ""}
    assert audit_chain_verify().intact
    assert audit_seal() == 0


def test_an_event_left_unsealed_too_long_fails_the_check(
    acme_user: User, owner_db: BaseDatabaseWrapper, staff_client: Client
) -> None:
    audit_seal_all()  # the staff client's log in
    recent = audit_record(action="auth.logged_in", actor=acme_user)
    old = audit_record(action="auth.logged_out", actor=acme_user)
    # Recorded but not sealed: reported, not a break.
    state = audit_chain_verify()
    assert (state.intact, state.unsealed, state.overdue) == (True, 2, 0)
    call_command("audit_verify")
    url = reverse("admin:audit_auditevent_changelist")
    assert "2 newer events are not sealed into the chain yet" in staff_client.get(url).text
    change = staff_client.get(reverse("admin:audit_auditevent_change", args=[recent.pk]))
    assert "not sealed yet" in change.text
    # One of them as if nothing had sealed it for longer than AUDIT_SEAL_MAX_DELAY.
    delay = int(django_settings.AUDIT_SEAL_MAX_DELAY)
    back_dated = "UPDATE audit_auditevent SET occurred_at = now() - interval '{s} s' "
    back_dated += "WHERE id = {id}"
    owner_runs(owner_db, back_dated.format(s=delay + 1, id=int(old.pk)))
    state = audit_chain_verify()
    assert (state.intact, state.reason, state.overdue, state.overdue_id) == (
        False,
        "unsealed",
        1,
        old.pk,
    )
    with pytest.raises(CommandError, match=f"1 event unsealed for more than {delay} s"):
        call_command("audit_verify")
    assert "Audit chain not sealed in time: 1 event has" in staff_client.get(url).text
    audit_seal_all()
    assert audit_chain_verify().intact


def test_the_relay_seals_what_commits(acme_user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    """The relay's loop, woken by the audit insert's NOTIFY, seals each event that commits."""
    with running_relay(monkeypatch, wake="audit_seal") as waiting:
        assert waiting.wait(120)
        waiting.clear()
        event = audit_record(action="auth.logged_in", actor=acme_user)
        assert waiting.wait(120)  # woken, sealed, waiting again
        event.refresh_from_db()
        assert event.chain_position is not None
    assert audit_chain_verify().intact


def test_celery_beat_seals_as_the_safety_net(acme_user: User) -> None:
    schedule: dict[str, Any] = django_settings.CELERY_BEAT_SCHEDULE
    assert schedule["audit-seal"]["task"] == tasks.audit_seal.name
    assert schedule["audit-seal"]["schedule"] < django_settings.AUDIT_SEAL_MAX_DELAY
    events = [audit_record(action="auth.logged_in", actor=acme_user) for _ in range(3)]
    assert tasks.audit_seal() >= 3
    assert None not in {AuditEvent.objects.get(pk=e.pk).chain_position for e in events}


def test_with_seal_on_commit_each_event_is_sealed_after_its_own_commit(
    acme_user: User, settings: Settings
) -> None:
    settings.AUDIT_SEAL_ON_COMMIT = True
    event = audit_record(action="auth.logged_in", actor=acme_user)
    assert AuditEvent.objects.get(pk=event.pk).chain_position is not None
