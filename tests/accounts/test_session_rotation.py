"""A new session key whenever the session gains power: after the two-factor step (code,
recovery code, or enrolling an app) and after a password change. A key planted in a victim's
browser before (session fixation) is worth nothing afterwards."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from tests.accounts.test_two_factor import (
    ADMIN,
    SETUP,
    VERIFY,
    authenticator,
    code_for,
    password_login,
)

pytestmark = pytest.mark.django_db


def planted(client: Client) -> Client:
    """An attacker's client holding the same session cookie as ``client`` (the planted key)."""
    attacker = Client()
    attacker.cookies["sessionid"] = client.cookies["sessionid"].value
    return attacker


def assert_rotated(client: Client, before: str, attacker: Client) -> None:
    after = client.cookies["sessionid"].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.get(ADMIN).status_code == 200  # the user's own session is verified
    response = attacker.get(ADMIN)
    assert response.status_code == 302  # the planted key is no session at all now
    assert response["Location"].startswith(("/admin/login/", reverse("accounts:login")))


def test_the_two_factor_step_gives_a_new_session_key(client: Client, staff_user: User) -> None:
    device = authenticator(staff_user)
    password_login(client, "staff")
    before = client.cookies["sessionid"].value
    attacker = planted(client)
    assert client.post(VERIFY, {"code": code_for(device)}).status_code == 302
    assert_rotated(client, before, attacker)


def test_enrolling_an_authenticator_gives_a_new_session_key(
    client: Client, staff_user: User
) -> None:
    password_login(client, "staff")
    client.get(SETUP)
    before = client.cookies["sessionid"].value
    attacker = planted(client)
    pending = TOTPDevice(key=client.session["two_factor_setup_key"])
    assert client.post(SETUP, {"code": code_for(pending)}).status_code == 200
    assert_rotated(client, before, attacker)


def test_a_password_change_gives_a_new_session_key(client: Client, staff_user: User) -> None:
    device = authenticator(staff_user)
    password_login(client, "staff")
    client.post(VERIFY, {"code": code_for(device)})
    before = client.cookies["sessionid"].value
    attacker = planted(client)
    response = client.post(
        reverse("admin:password_change"),
        {
            "old_password": "secret-pass-123",
            "new_password1": "a-new-long-pass-phrase-42",
            "new_password2": "a-new-long-pass-phrase-42",
        },
    )
    assert response.status_code == 302
    assert_rotated(client, before, attacker)
