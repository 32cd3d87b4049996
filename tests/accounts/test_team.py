"""The Team page's services (issue #18): invitations, roles, deactivation and the company's
two-factor requirement; tenancy between manufacturers; the last administrator kept."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.errors import AccountError
from accounts.models import Invitation, Manufacturer, User
from accounts.services import (
    invitation_accept,
    invitation_create,
    invitation_withdraw,
    team_member_deactivate,
    team_member_role_set,
    team_two_factor_require,
)
from audit.models import AuditEvent
from tests.factories import UserFactory
from tests.threads import barrier, run_in_threads

ADMINISTRATOR, PLANNER, VIEWER = User.Role.ADMINISTRATOR, User.Role.PLANNER, User.Role.VIEWER
PASSWORD = "a-long-new-pass-2026"


@pytest.fixture
def admin(acme: Manufacturer) -> User:
    return UserFactory(username="acme-admin", manufacturer=acme, role=ADMINISTRATOR)


def invite(actor: User, email: str = "new@example.com", role: str = VIEWER, **kw: Any) -> Any:
    return invitation_create(
        actor=actor, email=email, role=role, language="en", site_url="http://testserver", **kw
    )


@pytest.mark.django_db
def test_an_invitation_is_emailed_with_a_link_whose_token_is_only_stored_hashed(
    admin: User, mailoutbox: list[EmailMessage], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        new = invite(admin)
    invitation = Invitation.objects.get()
    assert new.token not in invitation.token_hash
    assert invitation.token_hash == Invitation.token_digest(new.token)
    (mail,) = mailoutbox
    assert mail.to == ["new@example.com"]
    assert f"http://testserver/accounts/invitation/{new.token}/" in mail.body
    assert "Acme" in mail.subject
    assert AuditEvent.objects.filter(
        action="team.invited", manufacturer=admin.manufacturer
    ).exists()


@pytest.mark.django_db
def test_the_invitation_email_is_in_the_chosen_language(
    admin: User, mailoutbox: list[EmailMessage], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            actor=admin,
            email="zh@example.com",
            role=PLANNER,
            language="zh-hans",
            site_url="http://testserver",
        )
    assert "受邀" in mailoutbox[0].subject


@pytest.mark.django_db
def test_a_broken_mail_server_does_not_fail_the_invitation(
    admin: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
        }
    }
    with django_capture_on_commit_callbacks(execute=True):
        invite(admin)
    assert Invitation.objects.count() == 1


@pytest.mark.django_db
def test_accepting_makes_the_user_with_the_role_once(admin: User) -> None:
    new = invite(admin, role=VIEWER)
    user = invitation_accept(token=new.token, password=PASSWORD)
    assert (user.username, user.email, user.role) == ("new@example.com",) * 2 + (VIEWER,)
    assert user.manufacturer == admin.manufacturer
    assert user.check_password(PASSWORD)
    with pytest.raises(AccountError) as again:
        invitation_accept(token=new.token, password=PASSWORD)
    assert again.value.code == "invitation_invalid"
    assert AuditEvent.objects.filter(action="team.invitation_accepted", actor=user).exists()


@pytest.mark.django_db
def test_expired_withdrawn_and_replaced_links_do_not_work(admin: User) -> None:
    expired = invite(admin, email="late@example.com")
    Invitation.objects.filter(pk=expired.invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    withdrawn = invite(admin, email="gone@example.com")
    invitation_withdraw(actor=admin, invitation_id=withdrawn.invitation.pk)
    replaced = invite(admin, email="twice@example.com")
    latest = invite(admin, email="twice@example.com")
    for token in (expired.token, withdrawn.token, replaced.token, "no-such-token"):
        with pytest.raises(AccountError) as refused:
            invitation_accept(token=token, password=PASSWORD)
        assert refused.value.code == "invitation_invalid"
    assert invitation_accept(token=latest.token, password=PASSWORD).username == "twice@example.com"


@pytest.mark.django_db(transaction=True)
def test_one_link_used_twice_at_once_makes_one_user(admin: User) -> None:
    new = invite(admin)
    start = barrier(2)
    results: list[str] = []

    def accept() -> None:
        try:
            start.wait()
            invitation_accept(token=new.token, password=PASSWORD)
            results.append("made")
        except AccountError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    run_in_threads([accept, accept])
    assert sorted(results) == ["invitation_invalid", "made"]
    assert User.objects.filter(email="new@example.com").count() == 1


@pytest.mark.django_db
def test_a_colleagues_address_is_refused_as_already_in_the_team(
    admin: User, acme: Manufacturer
) -> None:
    colleague = UserFactory(username="colleague", email="colleague@acme.example", manufacturer=acme)
    with pytest.raises(AccountError) as refused:
        invite(admin, email=colleague.email.upper())
    assert (refused.value.code, refused.value.field) == ("already_member", "email")
    assert Invitation.objects.count() == 0


@pytest.mark.django_db
def test_another_companys_address_gets_the_same_answer_and_its_link_makes_no_account(
    admin: User, globex_user: User
) -> None:
    # The inviter must not learn who works at another company: the answer is an invitation, as
    # for an unknown address; only the address's owner, following the link, is told.
    outsider = invite(admin, email=globex_user.email.upper())
    stranger = invite(admin, email="nobody@example.com")
    assert type(outsider) is type(stranger)
    assert Invitation.objects.filter(email__iexact=globex_user.email).count() == 1
    with pytest.raises(AccountError) as refused:
        invitation_accept(token=outsider.token, password=PASSWORD)
    assert refused.value.code == "email_taken"
    assert User.objects.filter(email__iexact=globex_user.email).get() == globex_user


@pytest.mark.parametrize("role", [PLANNER, VIEWER])
@pytest.mark.django_db
def test_only_administrators_manage_the_team(acme: Manufacturer, admin: User, role: str) -> None:
    someone = UserFactory(username=f"someone-{role}", manufacturer=acme, role=role)
    colleague = UserFactory(username="colleague", manufacturer=acme, role=VIEWER)
    attempts = [
        lambda: invite(someone),
        lambda: team_member_role_set(actor=someone, user_id=colleague.pk, role=ADMINISTRATOR),
        lambda: team_member_deactivate(actor=someone, user_id=colleague.pk),
        lambda: team_two_factor_require(actor=someone, required=True),
    ]
    for attempt in attempts:
        with pytest.raises(AccountError) as refused:
            attempt()
        assert refused.value.code == "role_forbidden"
    colleague.refresh_from_db()
    acme.refresh_from_db()
    assert (colleague.role, colleague.is_active, acme.require_two_factor) == (VIEWER, True, False)


@pytest.mark.django_db
def test_an_administrator_never_reaches_another_manufacturers_user(
    admin: User, globex_user: User
) -> None:
    with pytest.raises(User.DoesNotExist):
        team_member_role_set(actor=admin, user_id=globex_user.pk, role=VIEWER)
    with pytest.raises(User.DoesNotExist):
        team_member_deactivate(actor=admin, user_id=globex_user.pk)
    globex_admin = UserFactory(
        username="globex-admin", manufacturer=globex_user.manufacturer, role=ADMINISTRATOR
    )
    with pytest.raises(Invitation.DoesNotExist):
        invitation_withdraw(actor=globex_admin, invitation_id=invite(admin).invitation.pk)
    globex_user.refresh_from_db()
    assert (globex_user.role, globex_user.is_active) == (ADMINISTRATOR, True)


@pytest.mark.django_db
def test_roles_change_and_are_audited(acme: Manufacturer, admin: User) -> None:
    colleague = UserFactory(username="colleague", manufacturer=acme, role=VIEWER)
    team_member_role_set(actor=admin, user_id=colleague.pk, role=PLANNER)
    colleague.refresh_from_db()
    assert colleague.role == PLANNER
    event = AuditEvent.objects.get(action="team.role_changed")
    assert (event.details["from"], event.details["to"]) == (VIEWER, PLANNER)
    with pytest.raises(AccountError) as unknown:
        team_member_role_set(actor=admin, user_id=colleague.pk, role="owner")
    assert unknown.value.code == "role_unknown"


@pytest.mark.django_db
def test_an_administrator_cannot_demote_or_deactivate_themselves(admin: User) -> None:
    for attempt in (
        lambda: team_member_role_set(actor=admin, user_id=admin.pk, role=VIEWER),
        lambda: team_member_deactivate(actor=admin, user_id=admin.pk),
    ):
        with pytest.raises(AccountError) as refused:
            attempt()
        assert refused.value.code == "not_yourself"
    admin.refresh_from_db()
    assert (admin.role, admin.is_active) == (ADMINISTRATOR, True)


@pytest.mark.django_db
def test_deactivation_ends_sessions_and_is_audited(
    acme: Manufacturer, admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    colleague = UserFactory(username="colleague", manufacturer=acme, role=PLANNER)
    their_browser = Client()
    their_browser.force_login(colleague)
    with django_capture_on_commit_callbacks(execute=True):
        team_member_deactivate(actor=admin, user_id=colleague.pk)
    colleague.refresh_from_db()
    assert not colleague.is_active
    assert their_browser.get(reverse("orders:purchase_order_list")).status_code == 302
    assert AuditEvent.objects.filter(action="team.deactivated").count() == 1
    with pytest.raises(AccountError) as again:
        team_member_deactivate(actor=admin, user_id=colleague.pk)
    assert again.value.code == "already_inactive"


@pytest.mark.django_db(transaction=True)
def test_two_administrators_deactivating_each_other_at_once_leave_one(acme: Manufacturer) -> None:
    first = UserFactory(username="first-admin", manufacturer=acme, role=ADMINISTRATOR)
    second = UserFactory(username="second-admin", manufacturer=acme, role=ADMINISTRATOR)
    start = barrier(2)
    results: list[str] = []

    def deactivate(actor: User, target: User) -> None:
        try:
            start.wait()
            team_member_deactivate(actor=actor, user_id=target.pk)
            results.append("done")
        except AccountError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    run_in_threads([partial(deactivate, first, second), partial(deactivate, second, first)])
    assert sorted(results) == ["done", "role_forbidden"]
    assert User.objects.filter(manufacturer=acme, is_active=True, role=ADMINISTRATOR).count() == 1


@pytest.mark.django_db
def test_requiring_two_factor_sends_users_without_a_device_to_set_it_up(
    acme: Manufacturer, admin: User, client: Client
) -> None:
    colleague = UserFactory(username="colleague", manufacturer=acme, role=PLANNER)
    team_two_factor_require(actor=admin, required=True)
    acme.refresh_from_db()
    assert acme.require_two_factor
    assert AuditEvent.objects.filter(action="team.two_factor_required").count() == 1
    client.force_login(colleague)
    response = client.get(reverse("orders:purchase_order_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:two_factor_setup"))
    team_two_factor_require(actor=admin, required=False)
    assert AuditEvent.objects.filter(action="team.two_factor_optional").count() == 1
