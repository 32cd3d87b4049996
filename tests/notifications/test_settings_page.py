"""The Settings page: time zone, language of emails and the choices of notices."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEvent
from notifications import kinds
from notifications.models import NotificationPreference
from tests.conftest import login_verified

pytestmark = pytest.mark.django_db


def form_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {"time_zone": "UTC", "language": "en"}
    for kind in kinds.kinds_for(is_staff=False):
        data[f"{kind}__email"] = "on"
        data[f"{kind}__portal"] = "on"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_a_user_chooses_zone_language_and_channels(acme_client: Client, acme_user: User) -> None:
    page = acme_client.get(reverse("notifications:settings")).content.decode()
    assert "Asia/Shanghai" in page
    assert "A token file is ready" in page
    data = form_data(
        time_zone="Asia/Shanghai",
        language="zh-hans",
        **{f"{kinds.FILE_READY}__email": None, f"{kinds.WORK_ORDER_TOOL}__portal": None},
    )
    response = acme_client.post(reverse("notifications:settings"), data)
    assert response.status_code == 302
    acme_user.refresh_from_db()
    assert (acme_user.time_zone, acme_user.language) == ("Asia/Shanghai", "zh-hans")
    chosen = {
        p.kind: (p.email, p.portal) for p in NotificationPreference.objects.filter(user=acme_user)
    }
    assert chosen[kinds.FILE_READY] == (False, True)
    assert chosen[kinds.WORK_ORDER_TOOL] == (True, False)
    assert chosen[kinds.FILE_FAILED] == (True, True)
    assert AuditEvent.objects.filter(action="accounts.time_zone_set").count() == 1
    assert AuditEvent.objects.filter(action="notifications.preferences_changed").count() == 1
    # Shown as saved.
    again = acme_client.get(reverse("notifications:settings")).content.decode()
    assert '<option value="Asia/Shanghai" selected>' in again


def test_an_unknown_zone_is_refused(acme_client: Client, acme_user: User) -> None:
    response = acme_client.post(
        reverse("notifications:settings"), form_data(time_zone="Mars/Olympus_Mons")
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    acme_user.refresh_from_db()
    assert acme_user.time_zone == ""
    assert not NotificationPreference.objects.exists()


def test_staff_choose_only_what_staff_are_told(staff_user: User) -> None:
    client = Client()
    login_verified(client, staff_user)
    page = client.get(reverse("notifications:settings")).content.decode()
    assert "A token file could not be made" in page
    assert "A token file is ready" not in page
