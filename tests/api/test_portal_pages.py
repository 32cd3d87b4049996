"""The portal pages for API keys and webhook endpoints."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from api.models import ApiKey
from api.services import api_key_create
from audit.models import AuditEvent
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def key_form(**fields: object) -> dict[str, object]:
    """An API key or webhook form as the page renders it: with a new form key."""
    return {"form_key": str(uuid.uuid4()), **fields}


def test_making_a_key_shows_it_once_then_only_its_prefix(acme_client: Client) -> None:
    url = reverse("api_keys:list")
    response = acme_client.post(url, key_form(name="Line 3 MES", scopes=["read", "take"]))
    assert response.status_code == 200
    api_key = ApiKey.objects.get()
    page = response.content.decode()
    shown = page.split('id="new-key"')[1].split('value="')[1].split('"')[0]
    assert shown.startswith(f"rpk_{api_key.prefix}_")
    assert response["Cache-Control"] == "no-store"
    later = acme_client.get(url).content.decode()
    assert shown not in later
    assert f"rpk_{api_key.prefix}_" in later
    assert api_key.scopes == ["read", "take"]


def test_a_key_form_with_errors_changes_nothing(acme_client: Client) -> None:
    with translation.override("en"):
        response = acme_client.post(
            reverse("api_keys:list"),
            key_form(name="x", scopes=[], expires_on="2001-01-01"),
            headers={"Accept-Language": "en"},
        )
    assert response.status_code == 422
    assert not ApiKey.objects.exists()


def test_revoking_a_key_from_the_portal(acme_client: Client, acme_user: User) -> None:
    acme_client.post(reverse("api_keys:list"), key_form(name="Line 1", scopes=["read"]))
    api_key = ApiKey.objects.get()
    response = acme_client.post(reverse("api_keys:revoke", args=[api_key.pk]), follow=True)
    assert response.status_code == 200
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert api_key.revoked_by == acme_user
    assert AuditEvent.objects.filter(action="api_key.revoked").exists()


def test_adding_a_webhook_shows_its_secret_once(acme_client: Client) -> None:
    response = acme_client.post(
        reverse("webhooks:list"),
        key_form(url="http://127.0.0.1:9/hook", events=["delivery.taken", "token_file.ready"]),
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in response.content.decode()
    assert endpoint.secret not in acme_client.get(reverse("webhooks:list")).content.decode()
    detail = acme_client.get(reverse("webhooks:detail", args=[endpoint.pk]))
    assert endpoint.secret not in detail.content.decode()


def test_private_targets_are_refused_unless_allowed(acme_client: Client, settings: object) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False  # type: ignore[attr-defined]
    for url in (
        "https://127.0.0.1/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest",
        "https://[::1]/hook",
        "http://example.com/hook",
    ):
        response = acme_client.post(
            reverse("webhooks:list"), key_form(url=url, events=["delivery.taken"])
        )
        assert response.status_code == 422, url
    assert not WebhookEndpoint.objects.exists()


def test_staff_see_and_revoke_keys_in_the_admin(
    staff_client: Client, acme_user: User, staff_user: User
) -> None:
    api_key = api_key_create(user=acme_user, name="Line 9", scopes=["read"]).api_key
    changelist = reverse("admin:api_apikey_changelist")
    page = staff_client.get(changelist)
    assert page.status_code == 200
    assert "Line 9" in page.content.decode()
    assert api_key.key_hash not in page.content.decode()
    done = staff_client.post(
        changelist, {"action": "revoke", "_selected_action": [api_key.pk]}, follow=True
    )
    assert done.status_code == 200
    api_key.refresh_from_db()
    assert api_key.revoked_by == staff_user
    for name in ("webhooks_webhookendpoint", "webhooks_webhookmessage"):
        assert staff_client.get(reverse(f"admin:{name}_changelist")).status_code == 200


def test_a_reloaded_key_form_makes_no_second_key(acme_client: Client) -> None:
    """A browser reload resends the POST: the form key makes it refused, with a message."""
    url = reverse("api_keys:list")
    sent = key_form(name="Line 3 MES", scopes=["read"])
    assert acme_client.post(url, sent).status_code == 200
    with translation.override("en"):
        again = acme_client.post(url, sent, headers={"Accept-Language": "en"})
    assert ApiKey.objects.count() == 1
    page = again.content.decode()
    assert "This form was already sent and made its key" in page
    assert 'id="new-key"' not in page
    assert AuditEvent.objects.filter(action="api_key.created").count() == 1
    assert sent["form_key"] not in page  # a new form key for the next try
    without_key = acme_client.post(url, {"name": "Line 4", "scopes": ["read"]})
    assert without_key.status_code == 422
    assert ApiKey.objects.count() == 1


def test_a_reloaded_webhook_form_adds_no_second_endpoint(acme_client: Client) -> None:
    url = reverse("webhooks:list")
    sent = key_form(url="http://127.0.0.1:9/hook", events=["delivery.taken"])
    first = acme_client.post(url, sent)
    assert first.status_code == 200
    secret = WebhookEndpoint.objects.get().secret
    with translation.override("en"):
        again = acme_client.post(url, sent, headers={"Accept-Language": "en"})
    assert WebhookEndpoint.objects.count() == 1
    page = again.content.decode()
    assert "This form was already sent and added its endpoint" in page
    assert secret not in page
