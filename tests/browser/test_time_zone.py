"""A user in Shanghai: the browser's zone is taken on first log in, and every time is shown in
it with the zone named, in English and in Chinese, on a phone and on a desktop."""

from __future__ import annotations

import re
import zoneinfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from tests.browser.conftest import DESKTOP, PHONE, check_accessibility, log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
SHOWN = {
    "en": "{:%Y-%m-%d %H:%M} UTC+0800",
    "zh-hans": "{0.year}年{0.month}月{0.day}日 {0:%H:%M} UTC+0800",
}


@pytest.mark.parametrize(
    "language",
    [
        pytest.param(
            "en", id="en", marks=pytest.mark.browser_context_args(timezone_id="Asia/Shanghai")
        ),
        pytest.param(
            "zh-hans",
            id="zh",
            marks=pytest.mark.browser_context_args(locale="zh-CN", timezone_id="Asia/Shanghai"),
        ),
    ],
)
def test_a_user_in_shanghai_sees_shanghai_time_with_the_zone_named(
    page: Page, language: str
) -> None:
    # Globex's company zone is Berlin: what the user sees before the browser tells its own.
    globex = Manufacturer.objects.get(name="Globex Devices")
    UserFactory(username="mei", manufacturer=globex)
    with page.expect_response("**/settings/time-zone/") as reported:
        log_in(page, "mei", "secret-pass-123")
    assert reported.value.status == 204
    mei = User.objects.get(username="mei")
    assert mei.time_zone == "Asia/Shanghai"

    logged_in = AuditEvent.objects.filter(action="auth.logged_in", actor=mei).get()
    expected = SHOWN[language].format(timezone.localtime(logged_in.occurred_at, SHANGHAI))
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        page.goto("/activity/")
        expect(page.locator("html")).to_have_attribute("lang", language)
        first_time = page.locator("main time").first
        expect(first_time).to_have_text(expected)
        expect(first_time).to_have_attribute("datetime", re.compile(r"\+08:00$"))
        check_accessibility(page)

        page.goto("/settings/")
        expect(page.locator("#id_time_zone")).to_have_value("Asia/Shanghai")
        check_accessibility(page)
    # Known now: the page no longer asks the browser.
    expect(page.locator("script[src*='time_zone.js']")).to_have_count(0)
