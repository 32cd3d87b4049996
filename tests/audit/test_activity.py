"""The manufacturer's Activity page and the staff's search of the trail."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from audit.services import audit_record, audit_seal
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("audit:activity")


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
    """The database sets every event's time (now), so the dates filter around today."""
    today = timezone.localdate()
    audit_record(action="delivery.taken", actor=acme_user, obj=acme_user)
    audit_record(action="auth.logged_in", actor=acme_user)
    only_taken = acme_client.get(URL, {"action": "delivery.taken"})
    assert only_taken.context["page"].paginator.count == 1
    assert {e.action for e in only_taken.context["page"].object_list} == {"delivery.taken"}

    def count(date_from: dt.date, date_to: dt.date) -> int:
        query = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat()}
        return int(acme_client.get(URL, query).context["page"].paginator.count)

    day = dt.timedelta(days=1)
    mine = AuditEvent.objects.filter(manufacturer=acme_user.manufacturer).count()
    assert mine >= 2
    assert count(today, today) == count(today - 2 * day, today + day) == mine
    assert count(today - 11 * day, today - 9 * day) == 0
    assert count(today + day, today + 2 * day) == 0


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


def test_filters_by_person_and_keeps_every_filter_in_the_links(
    acme_client: Client, acme_user: User, acme: Manufacturer
) -> None:
    colleague = UserFactory(manufacturer=acme, username="colleague")
    audit_record(action="auth.logged_in", actor=acme_user)
    audit_record(action="auth.logged_in", actor=colleague)
    audit_record(action="auth.logged_out", actor=colleague)
    response = acme_client.get(URL, {"person": colleague.pk, "action": "auth.logged_in"})
    rows = list(response.context["page"].object_list)
    assert [(e.actor_username, e.action) for e in rows] == [("colleague", "auth.logged_in")]
    html = response.content.decode()
    assert f'<option value="{colleague.pk}" selected>colleague</option>' in html
    assert f"?person={colleague.pk}&amp;action=auth.logged_in" in html  # the export links


def test_staff_are_platform_staff_to_the_manufacturer_never_their_user_names(
    acme_client: Client, acme_user: User, acme: Manufacturer, staff_user: User
) -> None:
    """As on work orders: the company reads "Platform staff", in the list, the person filter,
    the export and the order page's activity, never the staff member's user name."""
    audit_record(action="auth.logged_in", actor=acme_user)
    audit_record(action="workorders.status_changed", actor=staff_user, manufacturer=acme)
    response = acme_client.get(URL)
    people = response.context["form"].fields["person"].choices
    assert people[-1] == (0, "Platform staff")
    assert staff_user.get_username() not in [name for _pk, name in people]
    table = response.content.decode().split('id="results"')[1]
    assert "Platform staff" in table
    assert f">{staff_user.get_username()}<" not in table
    only_staff = acme_client.get(URL, {"person": 0}).context["page"].object_list
    assert [e.actor_id for e in only_staff] == [staff_user.pk]
    export = b"".join(acme_client.get(reverse("audit:export_csv")).streaming_content).decode(
        "utf-8-sig"
    )
    assert "Platform staff" in export
    assert f",{staff_user.get_username()}," not in export


def test_a_person_of_another_company_is_neither_offered_nor_found(
    acme_client: Client, acme_user: User, globex_user: User
) -> None:
    audit_record(action="auth.logged_in", actor=acme_user)
    audit_record(action="auth.logged_in", actor=globex_user)
    response = acme_client.get(URL, {"person": globex_user.pk})
    assert response.status_code == 200
    assert "Some filters were not valid and were ignored" in response.content.decode()
    people = dict(response.context["form"].fields["person"].choices)
    assert globex_user.pk not in people
    assert all(e.manufacturer_id == acme_user.manufacturer_id for e in response.context["page"])


def test_dates_the_wrong_way_round_are_a_clear_error(acme_client: Client, acme_user: User) -> None:
    audit_record(action="auth.logged_in", actor=acme_user)
    response = acme_client.get(URL, {"date_from": "2026-11-30", "date_to": "2026-11-01"})
    assert "The end date is before the start date." in response.content.decode()
    assert response.context["page"].paginator.count >= 1  # the bad filter is left out


def test_staff_read_labels_and_sentences_in_the_admin(
    staff_client: Client, acme_user: User, seed_order: object
) -> None:
    audit_record(
        action="delivery.voided",
        actor=acme_user,
        details={"order": "LIC-2026-0001", "delivery": "N001", "quantity": 5, "reason": "Typo"},
    )
    url = reverse("admin:audit_auditevent_changelist")
    html = staff_client.get(url).content.decode()
    assert "Voided <a" in html
    assert ">new delivery N001</a>" in html
    assert ">LIC-2026-0001</a>" in html
    assert "New delivery voided" in html  # the label, in the list and in its filter
    assert ">auth.logged_in<" not in html  # the filter offers labels, not codes
    assert "Logged in" in html
    event = AuditEvent.objects.get(action="delivery.voided")
    change = staff_client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert "Voided <a" in change.content.decode()


def test_the_staff_list_reads_only_new_events_of_the_chain_and_verifies_it_on_demand(
    staff_client: Client, acme_user: User
) -> None:
    url = reverse("admin:audit_auditevent_changelist")
    audit_seal()  # the staff client's log in (this test is one transaction: nothing commits)
    first = staff_client.get(url).context["chain"]
    assert first.intact
    audit_record(action="auth.logged_in", actor=acme_user)
    audit_record(action="auth.logged_out", actor=acme_user)
    assert staff_client.get(url).context["chain"].unsealed == 2
    audit_seal()
    second = staff_client.get(url).context["chain"]
    assert second.intact
    assert second.checked >= first.checked + 2
    # The staff client's own log in and the two above; not the whole chain again.
    assert second.walked <= second.checked - first.checked
    assert second.walked < second.checked
    verified = staff_client.post(reverse("admin:audit_auditevent_verify"), follow=True)
    messages = [str(m) for m in verified.context["messages"]]
    assert any("The whole audit chain was checked" in m for m in messages)
    assert staff_client.get(reverse("admin:audit_auditevent_verify")).status_code == 405
