"""The manufacturer's Activity page and the staff's search of the trail."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db

URL = reverse("audit:activity")


def at(event: AuditEvent, when: dt.datetime) -> AuditEvent:
    """Events are append-only, so a past time is given at creation, not by an update."""
    return AuditEvent.objects.create(
        occurred_at=when,
        actor=event.actor,
        actor_username=event.actor_username,
        manufacturer=event.manufacturer,
        action=event.action,
        object_repr=event.object_repr,
    )


def test_a_manufacturer_sees_only_its_own_companys_events(
    acme_client: Client, acme_user: User, globex_user: User
) -> None:
    audit_record(action="delivery.taken", actor=acme_user, details={"order": "ACME-1"})
    audit_record(action="delivery.taken", actor=globex_user, details={"order": "GLX-1"})
    audit_record(action="tokens.downloaded", actor=globex_user, username="globex-secret-person")
    html = acme_client.get(URL).content.decode()
    assert "New delivery taken" in html  # the translated label, not the code
    assert "delivery.taken" not in html.split('id="results"')[1]
    assert "globex" not in html
    assert "Token file downloaded" not in html  # not even as a filter choice


def test_filters_by_action_and_dates(acme_client: Client, acme_user: User) -> None:
    now = timezone.now()
    taken = audit_record(action="delivery.taken", actor=acme_user, obj=acme_user)
    at(taken, now - dt.timedelta(days=10))
    audit_record(action="auth.logged_in", actor=acme_user)
    only_taken = acme_client.get(URL, {"action": "delivery.taken"})
    assert only_taken.context["page"].paginator.count == 2
    assert {e.action for e in only_taken.context["page"].object_list} == {"delivery.taken"}
    recent = acme_client.get(URL, {"date_from": (now - dt.timedelta(days=2)).date().isoformat()})
    assert (
        recent.context["page"].paginator.count
        == AuditEvent.objects.filter(
            manufacturer=acme_user.manufacturer, occurred_at__gte=now - dt.timedelta(days=2)
        ).count()
    )
    old = acme_client.get(
        URL,
        {
            "date_from": (now - dt.timedelta(days=11)).date().isoformat(),
            "date_to": (now - dt.timedelta(days=9)).date().isoformat(),
        },
    )
    assert [e.action for e in old.context["page"].object_list] == ["delivery.taken"]


def test_bad_filters_are_reported_and_ignored(acme_client: Client, acme_user: User) -> None:
    audit_record(action="delivery.taken", actor=acme_user)
    response = acme_client.get(
        URL, {"action": "no.such.action", "date_from": "yesterday", "date_to": "2026-02-30"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Some filters were not valid and were ignored" in html
    assert response.context["page"].paginator.count >= 1


def test_activity_is_paginated_and_answers_htmx_with_the_results_only(
    acme_client: Client, acme_user: User, settings: object
) -> None:
    settings.AUDIT_EVENTS_PER_PAGE = 3  # type: ignore[attr-defined]
    for n in range(7):
        audit_record(action="delivery.taken", actor=acme_user, details={"n": n})
    page = acme_client.get(URL, {"action": "delivery.taken", "page": 3})
    assert page.context["page"].number == 3
    assert len(page.context["page"].object_list) == 1
    assert "Page 3 of 3" in page.content.decode()
    partial = acme_client.get(URL, {"page": 2}, headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert body.lstrip().startswith('<section id="results"')
    assert "<html" not in body
    assert partial["Vary"]
    assert "HX-Request" in partial["Vary"]


def test_staff_search_the_trail_in_the_admin(
    staff_client: Client, acme_user: User, globex: Manufacturer
) -> None:
    audit_record(action="delivery.taken", actor=acme_user, details={"order": "LIC-1"})
    audit_record(action="auth.login_failed", manufacturer=globex)
    url = reverse("admin:audit_auditevent_changelist")
    found = staff_client.get(url, {"q": "acme"})
    assert found.status_code == 200
    rows = list(found.context["cl"].result_list)
    assert rows
    assert all(e.actor_username == "acme" for e in rows)
    by_company = staff_client.get(url, {"q": "Globex"})
    assert [e.action for e in by_company.context["cl"].result_list] == ["auth.login_failed"]
    filtered = staff_client.get(url, {"action": "delivery.taken"})
    assert {e.action for e in filtered.context["cl"].result_list} == {"delivery.taken"}
    assert "New delivery taken" in filtered.content.decode()
