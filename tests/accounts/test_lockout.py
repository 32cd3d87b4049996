"""Log-in throttling with django-axes: per user and address, even with the right password."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
RIGHT = "secret-pass-123"


def attempt(client: Client, password: str, address: str = "198.51.100.1", user: str = "acme"):  # type: ignore[no-untyped-def]
    return client.post(LOGIN, {"username": user, "password": password}, REMOTE_ADDR=address)


def test_locked_after_the_limit_even_with_the_right_password(
    client: Client, acme_user: User
) -> None:
    for _ in range(4):
        response = attempt(client, "wrong")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    fifth = attempt(client, "wrong")
    assert fifth.status_code == 429
    right = attempt(client, RIGHT)
    assert right.status_code == 429
    html = right.content.decode()
    assert "log in is locked after 5 failures" in html
    assert "Try again in 15 minutes" in html
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_user_and_address(
    client: Client, acme_user: User, globex_user: User
) -> None:
    for _ in range(5):
        attempt(client, "wrong")
    assert attempt(client, RIGHT).status_code == 429
    # The same user from another address, and another user from the same address, still may.
    assert attempt(Client(), RIGHT, address="198.51.100.2").status_code == 302
    assert attempt(Client(), RIGHT, user="globex").status_code == 302


def test_a_success_before_the_limit_resets_the_count(client: Client, acme_user: User) -> None:
    for _ in range(4):
        attempt(client, "wrong")
    assert attempt(client, RIGHT).status_code == 302
    other = Client()
    for _ in range(4):
        assert attempt(other, "wrong").status_code == 200
    assert attempt(other, RIGHT).status_code == 302


def test_the_password_is_not_kept_by_the_throttle(client: Client, acme_user: User) -> None:
    from axes.models import AccessAttempt

    attempt(client, "my-very-own-wrong-password")
    stored = AccessAttempt.objects.get(username="acme")
    assert "my-very-own-wrong-password" not in stored.post_data
