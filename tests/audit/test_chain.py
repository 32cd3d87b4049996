"""The audit trail's hash chain: ``audit_verify`` finds it intact, and finds the first break
that the owner (the only role that can) makes."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from audit.models import AuditEvent
from audit.selectors import CHAIN_GENESIS, audit_chain_verify
from audit.services import audit_record, audit_seal


@pytest.fixture(autouse=True)
def _english(settings: Any) -> Iterator[None]:
    """The messages compared below are the English ones."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def record_three(user: User) -> list[AuditEvent]:
    """Three events, sealed (a transactional test's were, at each commit; inside a test's one
    transaction this seals them), as stored."""
    events = [
        audit_record(action="delivery.taken", actor=user, details={"quantity": n})
        for n in (1, 2, 3)
    ]
    audit_seal()
    return [AuditEvent.objects.get(pk=event.pk) for event in events]


@pytest.mark.django_db
def test_each_event_follows_on_from_the_one_before(acme_user: User) -> None:
    events = record_three(acme_user)
    first = AuditEvent.objects.order_by("chain_position").first()
    assert first is not None
    assert first.previous_hash == CHAIN_GENESIS
    for earlier, later in itertools.pairwise(events):
        assert later.chain_position == earlier.chain_position + 1
        assert later.previous_hash == earlier.hash
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    state = audit_chain_verify()
    assert state.intact
    assert state.checked == AuditEvent.objects.count()
    assert f"intact: {state.checked} events checked" in out.getvalue()


def owner_runs(db: BaseDatabaseWrapper, *statements: str) -> None:
    """As the owner, in one transaction with the table's own triggers off: what only the owner
    (or a superuser) can do, and what the chain is there to reveal."""
    with db.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        for sql in statements:
            cursor.execute(sql)
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
        cursor.execute("COMMIT")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("tampering", "reason"),
    [
        (
            "UPDATE audit_auditevent SET details = '{{\"quantity\": 200}}' WHERE id = {id}",
            "content",
        ),
        (
            "UPDATE audit_auditevent SET occurred_at = occurred_at - interval '1 day' "
            "WHERE id = {id}",
            "content",
        ),
        ("DELETE FROM audit_auditevent WHERE id = {id}", "position"),
        ("UPDATE audit_auditevent SET previous_hash = repeat('a', 64) WHERE id = {id}", "link"),
    ],
)
def test_audit_verify_reports_the_first_break(
    acme_user: User,
    owner_db: BaseDatabaseWrapper,
    staff_client: Client,
    tampering: str,
    reason: str,
) -> None:
    events = record_three(acme_user)
    middle = events[1]
    owner_runs(owner_db, tampering.format(id=middle.pk))
    state = audit_chain_verify()
    assert (state.broken_at, state.reason) == (
        middle.chain_position + (1 if reason == "position" else 0),
        reason,
    )
    with pytest.raises(CommandError, match=f"broken at position {state.broken_at}"):
        call_command("audit_verify")
    # The staff's Activity (the admin's audit list) says so too.
    page = staff_client.get(reverse("admin:audit_auditevent_changelist"))
    assert f"Audit chain broken at event {state.broken_at}" in page.content.decode()


@pytest.mark.django_db
def test_the_staff_activity_shows_an_intact_chain(staff_client: Client, acme_user: User) -> None:
    record_three(acme_user)
    html = staff_client.get(reverse("admin:audit_auditevent_changelist")).content.decode()
    assert "Audit chain intact:" in html


@pytest.mark.django_db(transaction=True)
def test_an_old_change_shows_on_the_full_check_and_from_then_on_in_the_list(
    acme_user: User, owner_db: BaseDatabaseWrapper, staff_client: Client
) -> None:
    """Each load of the list reads only the events added since its last intact check; a change
    to an older event is found by the whole walk (the button, ``audit_verify``), after which
    the list walks the whole chain again and shows the break."""
    events = record_three(acme_user)
    url = reverse("admin:audit_auditevent_changelist")
    assert staff_client.get(url).context["chain"].intact  # kept as the last intact check
    tampering = "UPDATE audit_auditevent SET details = '{{}}' WHERE id = {id}"
    owner_runs(owner_db, tampering.format(id=events[0].pk))
    audit_record(action="auth.logged_out", actor=acme_user)
    assert staff_client.get(url).context["chain"].walked <= 2  # the new events only
    verified = staff_client.post(reverse("admin:audit_auditevent_verify"), follow=True)
    position = events[0].chain_position
    assert any(
        f"Audit chain broken at event {position}" in str(m) for m in verified.context["messages"]
    )
    assert f"Audit chain broken at event {position}" in staff_client.get(url).content.decode()
