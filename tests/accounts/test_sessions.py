"""Sessions: a new key on log in, idle and absolute time limits, ended on deactivation."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.middleware import SESSION_SEEN_KEY, SESSION_STARTED_KEY
from accounts.models import User
from accounts.services import user_deactivate
from audit.models import AuditEvent
from tests.conftest import admin_user_change_data

pytestmark = pytest.mark.django_db

ORDERS = reverse("orders:purchase_order_list")
LOGIN = reverse("accounts:login")


def logged_in(username: str = "acme") -> Client:
    client = Client()
    response = client.post(LOGIN, {"username": username, "password": "secret-pass-123"})
    assert response.status_code == 302
    return client


def age_session(client: Client, *, started: float, seen: float) -> str:
    session = client.session
    now = time.time()
    session[SESSION_STARTED_KEY] = now - started
    session[SESSION_SEEN_KEY] = now - seen
    session.save()
    return session.session_key or ""


def test_logging_in_gives_a_new_session_key(client: Client, acme_user: User) -> None:
    client.get(LOGIN)  # an anonymous session with a CSRF cookie
    session = client.session
    session["before"] = "anonymous"
    session.save()
    before = session.session_key
    client.post(LOGIN, {"username": "acme", "password": "secret-pass-123"})
    assert client.session.session_key != before
    assert not Session.objects.filter(session_key=before).exists()


def test_a_session_idle_for_over_30_minutes_ends(acme_user: User) -> None:
    client = logged_in()
    key = age_session(client, started=31 * 60, seen=31 * 60)
    response = client.get(ORDERS)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={ORDERS}"
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get(ORDERS).status_code == 302
    event = AuditEvent.objects.get(action="auth.session_expired")
    assert (event.actor, event.details) == (acme_user, {"reason": "idle"})
    page = client.get(response["Location"])
    assert "Your session has ended" in page.content.decode()


def test_an_active_session_ends_after_12_hours(acme_user: User) -> None:
    client = logged_in()
    age_session(client, started=12 * 3600 + 5, seen=10)
    assert client.get(ORDERS).status_code == 302
    event = AuditEvent.objects.get(action="auth.session_expired")
    assert event.details == {"reason": "absolute"}


def test_activity_keeps_a_session_alive(acme_user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    client = logged_in()
    # The clock stands still, so the request's own time is known exactly.
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)
    age_session(client, started=11 * 3600, seen=29 * 60)
    assert client.get(ORDERS).status_code == 200
    assert client.session[SESSION_SEEN_KEY] == now  # the request counted as activity
    assert client.get(ORDERS).status_code == 200


def test_an_htmx_request_on_an_ended_session_reloads_the_whole_page(acme_user: User) -> None:
    client = logged_in()
    age_session(client, started=31 * 60, seen=31 * 60)
    response = client.get(ORDERS, headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == f"{LOGIN}?next={ORDERS}"


def test_deactivating_a_user_ends_their_sessions(
    acme_user: User,
    globex_user: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    first, second, other = logged_in(), logged_in(), logged_in("globex")
    keys = [first.session.session_key, second.session.session_key]
    with django_capture_on_commit_callbacks(execute=True):
        user_deactivate(user=acme_user)
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert first.get(ORDERS).status_code == 302
    assert other.get(ORDERS).status_code == 200
    event = AuditEvent.objects.get(action="auth.sessions_ended")
    assert (event.object_id, event.details["sessions"]) == (str(acme_user.pk), 2)


def test_session_and_csrf_cookies_are_secure_httponly_and_samesite_in_prod(
    acme_user: User, settings: Any
) -> None:
    # The values prod.py sets (tests/security/test_deploy.py reads them from prod.py itself).
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    client = Client()
    client.get(LOGIN, secure=True)
    csrf = client.cookies["csrftoken"]
    assert csrf["secure"]
    assert csrf["httponly"]
    assert csrf["samesite"] == "Lax"
    client.post(
        LOGIN,
        {"username": "acme", "password": "secret-pass-123", "csrfmiddlewaretoken": csrf.value},
        secure=True,
    )
    cookie = client.cookies["sessionid"]
    assert cookie["secure"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 12 * 3600


def test_staff_deactivating_a_user_in_the_admin_ends_their_sessions(
    staff_client: Client,
    acme_user: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    session = logged_in()
    url = reverse("admin:accounts_user_change", args=[acme_user.pk])
    data = admin_user_change_data(staff_client, acme_user, is_active="")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not Session.objects.filter(session_key=session.session.session_key).exists()
    assert session.get(ORDERS).status_code == 302
