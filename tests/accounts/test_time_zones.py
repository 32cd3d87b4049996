"""Times in the user's zone with the zone named: the choice, its defaults, the formats."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone, translation

from accounts.models import Manufacturer, User
from accounts.time_zones import effective_time_zone, user_time_zone_set
from audit.models import AuditEvent
from orders.models import PurchaseOrder
from tests.deliveries.conftest import take
from tests.factories import StaffUserFactory

MOMENT = dt.datetime(2026, 11, 29, 13, 49, tzinfo=dt.UTC)
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("language", "zone", "kind", "expected"),
    [
        ("en", "Asia/Shanghai", "SHORT_DATETIME_FORMAT", "2026-11-29 21:49 UTC+0800"),
        ("en", "Asia/Shanghai", "DATETIME_FORMAT", "2026-11-29 21:49 UTC+0800"),
        ("en", "America/New_York", "SHORT_DATETIME_FORMAT", "2026-11-29 08:49 UTC-0500"),
        ("en", "UTC", "SHORT_DATETIME_FORMAT", "2026-11-29 13:49 UTC+0000"),
        ("en", "Asia/Shanghai", "SHORT_DATE_FORMAT", "29 Nov 2026"),
        ("en", "Asia/Shanghai", "DATE_FORMAT", "29 Nov 2026"),
        ("zh-hans", "Asia/Shanghai", "SHORT_DATETIME_FORMAT", "2026年11月29日 21:49 UTC+0800"),
        ("zh-hans", "Asia/Shanghai", "SHORT_DATE_FORMAT", "2026年11月29日"),
    ],
)
def test_dates_and_times_are_unambiguous_and_name_the_zone(
    language: str, zone: str, kind: str, expected: str
) -> None:
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        value = timezone.localtime(MOMENT)
        if "DATETIME" not in kind:
            assert formats.date_format(value.date(), kind) == expected
        assert formats.date_format(value, kind) == expected


@pytest.mark.django_db
def test_the_users_zone_wins_then_the_companys_then_utc(
    acme: Manufacturer, acme_user: User
) -> None:
    assert effective_time_zone(acme_user) == "UTC"
    acme.time_zone = "Europe/Berlin"
    acme.save()
    acme_user.refresh_from_db()
    assert effective_time_zone(acme_user) == "Europe/Berlin"
    acme_user.time_zone = "Asia/Shanghai"
    assert effective_time_zone(acme_user) == "Asia/Shanghai"
    assert effective_time_zone(None, acme) == "Europe/Berlin"
    assert effective_time_zone(StaffUserFactory(username="ops")) == "UTC"


@pytest.mark.django_db
def test_an_unknown_zone_is_refused_by_the_model(acme_user: User) -> None:
    acme_user.time_zone = "Mars/Olympus_Mons"
    with pytest.raises(ValidationError) as refused:
        acme_user.full_clean()
    assert "time_zone" in refused.value.error_dict
    with pytest.raises(ValueError, match="unknown time zone"):
        user_time_zone_set(user=acme_user, time_zone="Mars/Olympus_Mons")


@pytest.mark.django_db
def test_a_shanghai_user_sees_times_in_shanghai_with_the_zone_named(
    acme_client: Client, acme_user: User, seed_order: PurchaseOrder
) -> None:
    take(seed_order, acme_user, 5)
    event = AuditEvent.objects.get(action="delivery.taken")
    utc_text = f"{timezone.localtime(event.occurred_at, dt.UTC):%Y-%m-%d %H:%M} UTC+0000"
    local_text = f"{timezone.localtime(event.occurred_at, SHANGHAI):%Y-%m-%d %H:%M} UTC+0800"

    assert utc_text in acme_client.get(reverse("audit:activity")).content.decode()
    acme_user.time_zone = "Asia/Shanghai"
    acme_user.save()
    for page in ("audit:activity", "deliveries:delivery_list"):
        text = acme_client.get(reverse(page)).content.decode()
        assert local_text in text, page
        assert utc_text not in text, page


@pytest.mark.django_db
def test_the_browser_zone_is_kept_once_and_never_over_a_choice(
    acme_client: Client, acme_user: User
) -> None:
    url = reverse("notifications:time_zone_detect")
    page = acme_client.get(reverse("notifications:list")).content.decode()
    assert "js/time_zone.js" in page  # the page asks the browser, as the user has no zone

    assert acme_client.post(url, {"time_zone": "Mars/Olympus_Mons"}).status_code == 204
    acme_user.refresh_from_db()
    assert acme_user.time_zone == ""  # an unknown name is ignored

    assert acme_client.post(url, {"time_zone": "Asia/Shanghai"}).status_code == 204
    assert acme_client.post(url, {"time_zone": "Europe/Paris"}).status_code == 204
    acme_user.refresh_from_db()
    assert acme_user.time_zone == "Asia/Shanghai"
    assert "js/time_zone.js" not in acme_client.get(reverse("notifications:list")).content.decode()
    [event] = AuditEvent.objects.filter(action="accounts.time_zone_set")
    assert event.details == {"from": "", "to": "Asia/Shanghai", "detected": True}


@pytest.mark.django_db
def test_a_browser_reporting_etc_utc_gets_utc(acme_user: User) -> None:
    assert user_time_zone_set(user=acme_user, time_zone="Etc/UTC", detected=True)
    acme_user.refresh_from_db()
    assert acme_user.time_zone == "UTC"
