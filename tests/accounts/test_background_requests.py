"""Requests a page makes by itself (polling) are not activity: an idle session still ends.

Time is moved by rewriting the session's own timestamps, never by waiting.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.middleware import BACKGROUND_HEADER, SESSION_SEEN_KEY, SESSION_STARTED_KEY
from accounts.models import User
from orders.models import PurchaseOrder
from tests.tokens.conftest import take

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")


def set_idle_for(client: Client, seconds: float) -> float:
    """Make the session look last used ``seconds`` ago; return that instant."""
    session = client.session
    seen = time.time() - seconds
    session[SESSION_STARTED_KEY] = seen - 60
    session[SESSION_SEEN_KEY] = seen
    session.save()
    return seen


@pytest.fixture
def polling_list(seed_order: PurchaseOrder, acme_user: User, settings: Any) -> str:
    """The New delivery list of an order whose file is PENDING, with a two-minute idle limit."""
    settings.SESSION_IDLE_TIMEOUT = timedelta(minutes=2)
    take(seed_order, acme_user, 5)
    return reverse("deliveries:order_delivery_list", args=[seed_order.number])


def poll(client: Client, url: str) -> Any:
    """What the list's polling element sends every 2 s (its hx-headers included)."""
    return client.get(
        url,
        headers={
            "HX-Request": "true",
            "HX-Current-URL": f"http://testserver{url}",
            BACKGROUND_HEADER: "true",
        },
    )


def test_the_polling_element_marks_its_requests_as_background(
    acme_client: Client, polling_list: str
) -> None:
    html = acme_client.get(polling_list).content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert f'hx-headers=\'{{"{BACKGROUND_HEADER}": "true"}}\'' in html


def test_polling_does_not_keep_an_idle_session_alive(
    acme_client: Client, polling_list: str
) -> None:
    seen = set_idle_for(acme_client, 90)
    for _ in range(5):
        assert poll(acme_client, polling_list).status_code == 200
    assert acme_client.session[SESSION_SEEN_KEY] == seen  # not counted as activity
    key = acme_client.session.session_key

    set_idle_for(acme_client, 5 * 60)  # left open for five minutes, polling all along
    ended = poll(acme_client, polling_list)
    # The whole page goes to the log-in prompt (and back to the list after it): no more polls.
    assert ended.status_code == 200
    assert ended["HX-Redirect"] == f"{LOGIN}?next={polling_list}"
    assert not Session.objects.filter(session_key=key).exists()


def test_what_the_person_does_still_counts_as_activity(
    acme_client: Client, polling_list: str
) -> None:
    seen = set_idle_for(acme_client, 90)
    assert acme_client.get(polling_list).status_code == 200
    assert acme_client.session[SESSION_SEEN_KEY] > seen


def test_a_poll_after_logging_out_elsewhere_reloads_to_the_login_prompt(
    acme_client: Client, polling_list: str
) -> None:
    acme_client.post(reverse("accounts:logout"))
    response = poll(acme_client, polling_list)
    # Not a 302 that htmx would follow and swap the log-in page into the list.
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{LOGIN}?next={polling_list}"
