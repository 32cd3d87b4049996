"""The admin's index as staff read it: each app under a name of ours, in their language, and the
portal's icon (no request for /favicon.ico that answers 404)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "headings"),
    [
        ("en", ["Two-factor: authenticator apps", "Two-factor: backup codes",
                "Log-in attempts and lockouts"]),
        ("zh-hans", ["双重身份验证：身份验证器应用", "双重身份验证：备用码", "登录尝试与锁定"]),  # noqa: RUF001
    ],
)  # fmt: skip
def test_the_admin_index_names_every_app_in_the_staffs_language(
    staff_client: Client, language: str, headings: list[str]
) -> None:
    response = staff_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    html = response.content.decode()
    for heading in headings:
        assert heading in html
    for raw in ("Otp_Totp", "Otp_Static", ">Axes<"):
        assert raw not in html
    assert 'rel="icon"' in html


def test_accounts_keeps_its_own_app_config() -> None:
    # Renaming the third-party apps once put their configs in accounts/apps.py: Django then chose
    # none of them for `accounts`, and AccountsConfig.ready() (the log-in signals) never ran.
    from django.apps import apps

    from accounts.apps import AccountsConfig

    assert type(apps.get_app_config("accounts")) is AccountsConfig
