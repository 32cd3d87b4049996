"""The Team page and the invitation link through the views (issue #18): who sees which form,
another manufacturer's colleague is a 404, the link logs the new colleague in with the role."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, Manufacturer, User
from audit.models import AuditEvent
from tests.deliveries.conftest import page_text
from tests.factories import UserFactory

TEAM = "/accounts/team/"
PASSWORD = "a-long-new-pass-2026"


@pytest.fixture
def admin_client(acme: Manufacturer) -> Client:
    client = Client()
    client.force_login(
        UserFactory(username="acme-admin", manufacturer=acme, role=User.Role.ADMINISTRATOR)
    )
    return client


@pytest.fixture
def invite_link(
    mailoutbox: list[EmailMessage], django_capture_on_commit_callbacks: Any
) -> Callable[[Client], str]:
    """Invite new@example.com as a viewer through the page; the link the email carries."""

    def invite(client: Client) -> str:
        data = {"invite": "", "email": "new@example.com", "role": "viewer", "language": "en"}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(TEAM, data)
        assert response.status_code == 302, page_text(response)
        found = re.search(r"http://testserver(/accounts/invitation/[^/\s]+/)", mailoutbox[-1].body)
        assert found is not None
        return found.group(1)

    return invite


@pytest.mark.django_db
def test_the_whole_invitation_through_the_pages(
    admin_client: Client, invite_link: Callable[[Client], str]
) -> None:
    link = invite_link(admin_client)
    assert "new@example.com" in page_text(admin_client.get(TEAM))
    newcomer = Client()
    form = newcomer.get(link)
    assert "as Viewer" in page_text(form)
    weak = newcomer.post(link, {"new_password1": "abc", "new_password2": "abc"})
    assert weak.status_code == 200
    assert not User.objects.filter(username="new@example.com").exists()
    done = newcomer.post(link, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert done["Location"] == reverse("home")
    user = User.objects.get(username="new@example.com")
    assert user.role == User.Role.VIEWER
    assert int(newcomer.session["_auth_user_id"]) == user.pk
    assert Client().get(link).status_code == 404  # used


@pytest.mark.django_db
def test_a_company_that_requires_two_factor_sends_the_newcomer_to_set_it_up(
    acme: Manufacturer, admin_client: Client, invite_link: Callable[[Client], str]
) -> None:
    link = invite_link(admin_client)
    admin_client.post(TEAM, {"two_factor": "", "required": "on"})
    acme.refresh_from_db()
    assert acme.require_two_factor
    # The administrator, who has no authenticator either, is sent to set one up at once.
    assert admin_client.get(TEAM)["Location"].startswith(reverse("accounts:two_factor_setup"))
    newcomer = Client()
    newcomer.post(link, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    landing = newcomer.get(reverse("orders:purchase_order_list"))
    assert landing["Location"].startswith(reverse("accounts:two_factor_setup"))


@pytest.mark.django_db
def test_planners_and_viewers_see_the_team_but_no_forms(acme: Manufacturer) -> None:
    for role in (User.Role.PLANNER, User.Role.VIEWER):
        client = Client()
        client.force_login(UserFactory(username=f"acme-{role}", manufacturer=acme, role=role))
        page = client.get(TEAM).content.decode()
        assert "Invite a colleague" not in page
        assert 'name="deactivate"' not in page
        refused = client.post(
            TEAM, {"invite": "", "email": "x@example.com", "role": "viewer", "language": "en"}
        )
        assert refused.status_code == 403
        assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_an_administrator_of_another_manufacturer_gets_404(
    acme: Manufacturer, globex: Manufacturer, admin_client: Client
) -> None:
    stranger = UserFactory(username="globex-user", manufacturer=globex, role=User.Role.VIEWER)
    url = reverse("accounts:team_member", args=[stranger.pk])
    assert admin_client.get(url).status_code == 404
    assert admin_client.post(url, {"role": "administrator"}).status_code == 404
    assert admin_client.post(url, {"deactivate": ""}).status_code == 404
    assert "globex-user" not in page_text(admin_client.get(TEAM))
    stranger.refresh_from_db()
    assert (stranger.role, stranger.is_active) == (User.Role.VIEWER, True)
    assert not AuditEvent.objects.filter(action__startswith="team.").exists()


@pytest.mark.django_db
def test_role_and_deactivation_buttons(acme: Manufacturer, admin_client: Client) -> None:
    colleague = UserFactory(username="colleague", manufacturer=acme, role=User.Role.VIEWER)
    url = reverse("accounts:team_member", args=[colleague.pk])
    admin_client.post(url, {"set_role": "", "role": "planner"})
    colleague.refresh_from_db()
    assert colleague.role == User.Role.PLANNER
    response = admin_client.post(url, {"deactivate": ""}, follow=True)
    assert "colleague is deactivated and logged out." in page_text(response)
    colleague.refresh_from_db()
    assert not colleague.is_active


@pytest.mark.django_db
def test_the_user_menu_leads_to_two_factor_and_the_team(admin_client: Client) -> None:
    page = admin_client.get(reverse("orders:purchase_order_list")).content.decode()
    menu = page[page.index('<details class="usermenu">') :]
    menu = menu[: menu.index("</details>")]
    assert reverse("accounts:two_factor") in menu
    assert TEAM in menu


def test_login_page_links_to_forgot_password(client: Client, db: Any) -> None:
    assert (
        reverse("accounts:password_reset") in client.get(reverse("accounts:login")).content.decode()
    )


@pytest.mark.django_db
def test_an_administrator_sets_the_company_time_zone_and_address_others_cannot(
    acme: Manufacturer, admin_client: Client
) -> None:
    data = {"company": "", "time_zone": "Asia/Shanghai", "notification_email": "ops@acme.example"}
    assert admin_client.post(TEAM, data).status_code == 302
    acme.refresh_from_db()
    assert (acme.time_zone, acme.notification_email) == ("Asia/Shanghai", "ops@acme.example")
    event = AuditEvent.objects.get(action="team.company_settings_changed")
    assert event.details == {"time_zone": "Asia/Shanghai", "notification_address": True}
    # A zone that does not exist is a form error, and changes nothing.
    bad = admin_client.post(TEAM, {**data, "time_zone": "Mars/Olympus"})
    assert bad.status_code == 400
    assert "Select a valid choice" in page_text(bad)
    acme.refresh_from_db()
    assert acme.time_zone == "Asia/Shanghai"
    # A planner sees no such form and is refused.
    planner = Client()
    planner.force_login(UserFactory(username="acme-p2", manufacturer=acme, role="planner"))
    assert 'name="company"' not in planner.get(TEAM).content.decode()
    refused = planner.post(TEAM, {**data, "time_zone": "Europe/Berlin"})
    acme.refresh_from_db()
    assert acme.time_zone == "Asia/Shanghai"
    assert refused.status_code in (302, 403)
