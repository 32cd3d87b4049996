"""Forgot password (issue #18): Django's views in the portal's look, an abuse limit per client
address and per address typed, the same answer whether or not anyone has the address, the email
in the language of the page, and every step audited."""

from __future__ import annotations

import re
from typing import Any
from unittest import mock

import pytest
from django.core.mail import EmailMessage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import ratelimit
from accounts.models import User
from accounts.services import password_reset_email_send
from audit.models import AuditEvent
from tests.factories import UserFactory

RESET = "/accounts/password-reset/"
NEW_PASSWORD = "a-long-new-pass-2026"


@pytest.fixture
def person() -> User:
    return UserFactory(username="lin", email="lin@example.com")


@pytest.fixture
def enqueued() -> Any:
    """The task's ``delay``: the view hands every valid request to it, known address or not."""
    with mock.patch("accounts.tasks.password_reset_email_send.delay") as delay:
        yield delay


@pytest.fixture(autouse=True)
def _fresh_window(monkeypatch: pytest.MonkeyPatch) -> None:
    # A window of its own for each test (the cache outlives tests).
    start = 2_000_000_000.0 + (hash(monkeypatch) % 1_000_000) * 3600
    monkeypatch.setattr(ratelimit, "clock", lambda: start)


def ask(client: Client, email: str, **extra: Any) -> Any:
    return client.post(RESET, {"email": email}, **extra)


@pytest.mark.django_db
def test_known_and_unknown_addresses_get_the_same_answer_and_work(
    client: Client, person: User, enqueued: Any
) -> None:
    answers = []
    queries = []
    for email in ("lin@example.com", "nobody@example.com"):
        with CaptureQueriesContext(connection) as captured:
            response = ask(client, email)
        answers.append((response.status_code, response["Location"]))
        queries.append(len(captured))
    assert answers[0] == answers[1] == (302, reverse("accounts:password_reset_done"))
    assert queries[0] == queries[1]
    assert [c.args[0] for c in enqueued.call_args_list] == ["lin@example.com", "nobody@example.com"]
    done = client.get(reverse("accounts:password_reset_done"))
    assert "If an account has this email address" in done.content.decode()


@pytest.mark.django_db
def test_the_task_emails_a_link_only_to_an_address_with_an_account(
    person: User, mailoutbox: list[EmailMessage]
) -> None:
    assert (
        password_reset_email_send(
            email="nobody@example.com", language="en", domain="portal.test", use_https=True
        )
        == 0
    )
    assert not mailoutbox
    assert not AuditEvent.objects.filter(action="auth.password_reset_requested").exists()
    assert (
        password_reset_email_send(
            email="LIN@example.com", language="en", domain="portal.test", use_https=True
        )
        == 1
    )
    (mail,) = mailoutbox
    assert mail.to == ["lin@example.com"]
    assert re.search(r"https://portal\.test/accounts/password-reset/[^/]+/[^/]+/", mail.body)
    assert AuditEvent.objects.filter(action="auth.password_reset_requested", actor=person).exists()


@pytest.mark.django_db
def test_the_email_is_in_the_language_of_the_page(
    client: Client, person: User, mailoutbox: list[EmailMessage], enqueued: Any
) -> None:
    client.cookies["django_language"] = "zh-hans"
    ask(client, "lin@example.com")
    email, language, domain, use_https = enqueued.call_args.args
    assert language == "zh-hans"
    password_reset_email_send(email=email, language=language, domain=domain, use_https=use_https)
    assert "密码" in mailoutbox[0].subject


@pytest.mark.django_db
def test_a_broken_mail_server_is_logged_not_raised(
    person: User, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
        }
    }
    password_reset_email_send(
        email="lin@example.com", language="en", domain="portal.test", use_https=True
    )
    assert "Failed to send password reset email" in caplog.text


@pytest.mark.django_db
def test_the_link_sets_a_new_password_once_and_is_audited(
    client: Client, person: User, mailoutbox: list[EmailMessage]
) -> None:
    password_reset_email_send(
        email="lin@example.com", language="en", domain="testserver", use_https=False
    )
    link = re.search(r"http://testserver(/accounts/password-reset/\S+/)", mailoutbox[0].body)
    assert link is not None
    form_page = client.get(link.group(1), follow=True)
    assert form_page.context["validlink"]
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == reverse("accounts:password_reset_complete")
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="auth.password_reset_done", actor=person).exists()
    used = Client().get(link.group(1), follow=True)
    assert not used.context["validlink"]


@pytest.mark.django_db
def test_too_many_requests_for_one_address_are_refused_for_anyone(
    client: Client, person: User, settings: Any, enqueued: Any
) -> None:
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "password.reset": {"address": 100, "email": 2, "seconds": 3600},
    }
    for email in ("lin@example.com", "nobody@example.com"):
        assert [ask(client, email).status_code for _ in range(3)] == [302, 302, 429]
    refused = ask(client, "nobody@example.com")
    assert "Too many password reset requests for this email address" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert enqueued.call_count == 4
    # Another address from the same network is still served.
    assert ask(client, "other@example.com").status_code == 302


@pytest.mark.django_db
def test_too_many_requests_from_one_network_are_refused(
    client: Client, settings: Any, enqueued: Any
) -> None:
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "password.reset": {"address": 3, "email": 100, "seconds": 3600},
    }
    codes = [ask(client, f"user{n}@example.com").status_code for n in range(4)]
    assert codes == [302, 302, 302, 429]
    assert ask(client, "x@example.com", REMOTE_ADDR="198.51.100.7").status_code == 302
    assert AuditEvent.objects.filter(action="ratelimit.exceeded").count() == 1


@pytest.mark.django_db
def test_ordinary_use_never_meets_the_limit(settings: Any) -> None:
    """The production limits (not the test settings'): a person asking again a few times, and
    an office behind one address, stay under them."""
    from refurb_portal.settings import base

    limits = base.RATE_LIMITS["password.reset"]
    assert limits["email"] >= 5
    assert limits["address"] >= 30
    assert limits["seconds"] <= 3600
