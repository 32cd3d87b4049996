"""Cookies, proxies and password spraying: the language cookie's flags, forwarded headers only
from the configured proxies, and a throttle per address across user names."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
ORDERS = reverse("orders:purchase_order_list")


@pytest.fixture(autouse=True)
def _english(settings: Any) -> Iterator[None]:
    """The messages compared below are the English ones."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def test_the_language_cookie_is_secure_same_site_and_http_only(
    client: Client, settings: Any
) -> None:
    settings.LANGUAGE_COOKIE_SECURE = True  # as prod.py sets it (tests/security/test_deploy.py)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    cookie = client.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "zh-hans"
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"] is True


@pytest.fixture
def https_behind_a_proxy(settings: Any) -> Any:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_ADDRESSES = ["10.0.0.0/24"]
    return settings


def test_x_forwarded_proto_counts_only_from_a_configured_proxy(
    acme_client: Client, https_behind_a_proxy: Any
) -> None:
    https = {"HTTP_X_FORWARDED_PROTO": "https"}
    direct = acme_client.get(ORDERS, REMOTE_ADDR="203.0.113.5", **https)
    assert direct.status_code == 301  # not taken for HTTPS: sent to https:// instead
    assert direct["Location"].startswith("https://")
    proxied = acme_client.get(ORDERS, REMOTE_ADDR="10.0.0.7", **https)
    assert proxied.status_code == 200


def test_the_client_address_comes_from_x_forwarded_for_only_through_a_proxy(
    client: Client, acme_user: User, https_behind_a_proxy: Any
) -> None:
    headers = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_FOR": "192.0.2.1"}
    data = {"username": "acme", "password": "secret-pass-123"}
    client.post(LOGIN, data, REMOTE_ADDR="10.0.0.7", **headers)
    through_proxy = AuditEvent.objects.filter(action="auth.logged_in").latest("id")
    assert through_proxy.ip_address == "192.0.2.1"
    # Straight to the application: the header is the client's own word, and it is dropped.
    Client().post(LOGIN, data, REMOTE_ADDR="203.0.113.5", secure=True, **headers)
    direct = AuditEvent.objects.filter(action="auth.logged_in").latest("id")
    assert direct.ip_address == "203.0.113.5"


@pytest.fixture
def address(settings: Any) -> str:
    """An address of its own for each test (the cache's counters outlive a test)."""
    settings.LOGIN_FAILURES_PER_ADDRESS = (3, 15 * 60)
    picked = f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"
    return picked


def test_one_address_spraying_user_names_is_throttled(
    client: Client, acme_user: User, address: str
) -> None:
    for n in range(3):
        response = client.post(
            LOGIN, {"username": f"user{n}", "password": "Winter2026!"}, REMOTE_ADDR=address
        )
        assert "Please enter a correct username and password" in response.content.decode()
    rows = (AccessAttempt.objects.count(), AuditEvent.objects.count())
    for _ in range(7):  # even the right password of a real user
        response = client.post(
            LOGIN, {"username": "acme", "password": "secret-pass-123"}, REMOTE_ADDR=address
        )
        assert response.status_code == 200
        assert "Too many failed log ins from your network" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # No row per refused attempt: one audit event for the window's first refusal, no axes rows.
    assert AccessAttempt.objects.count() == rows[0]
    assert AuditEvent.objects.count() == rows[1] + 1
    assert AuditEvent.objects.filter(action="auth.address_throttled").count() == 1
    other = Client().post(
        LOGIN, {"username": "acme", "password": "secret-pass-123"}, REMOTE_ADDR="198.51.100.77"
    )
    assert other.status_code == 302  # another address is not held back
