"""Two-factor authentication with django-otp: staff in the admin, manufacturers when required."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from tests.conftest import login_verified

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
VERIFY = reverse("accounts:two_factor_verify")
SETUP = reverse("accounts:two_factor_setup")
ADMIN = reverse("admin:index")


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def authenticator(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def password_login(client: Client, username: str, next_url: str = "") -> None:
    data = {"username": username, "password": "secret-pass-123"}
    if next_url:
        data["next"] = next_url
    assert client.post(LOGIN, data).status_code == 302


def test_staff_without_a_verified_device_are_refused_the_admin(
    client: Client, staff_user: User
) -> None:
    client.force_login(staff_user)  # password only
    response = client.get(ADMIN)
    assert response.status_code == 302
    assert response["Location"].startswith(SETUP)  # no device yet: set one up first
    authenticator(staff_user)
    for url in (ADMIN, reverse("admin:accounts_user_changelist"), reverse("audit:activity")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(VERIFY)


def test_the_admin_site_itself_refuses_an_unverified_session(staff_user: User) -> None:
    """Even without the middleware, the OTP admin site treats unverified staff as non-staff."""
    from django.contrib import admin
    from django_otp.middleware import OTPMiddleware

    request = RequestFactory().get(ADMIN)
    request.user = staff_user
    request.session = {}  # type: ignore[assignment]
    OTPMiddleware(lambda r: None)._verify_user_sync(request, staff_user)  # type: ignore[arg-type]
    assert admin.site.has_permission(request) is False
    device = authenticator(staff_user)
    request.session = {DEVICE_ID_SESSION_KEY: device.persistent_id}  # type: ignore[assignment]
    OTPMiddleware(lambda r: None)._verify_user_sync(request, staff_user)  # type: ignore[arg-type]
    assert admin.site.has_permission(request) is True


def test_the_admin_login_page_sends_people_to_the_portal_log_in(client: Client) -> None:
    response = client.get(reverse("admin:login"), {"next": "/admin/orders/"})
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/admin/orders/"


def test_staff_log_in_with_password_then_code_and_reach_the_admin(
    client: Client, staff_user: User
) -> None:
    device = authenticator(staff_user)
    password_login(client, "staff", next_url=ADMIN)
    step = client.get(ADMIN)
    assert step["Location"] == f"{VERIFY}?next=%2Fadmin%2F"
    page = client.get(step["Location"])
    assert page.status_code == 200
    assert "six-digit code" in page.content.decode()
    assert 'class="topnav"' not in page.content.decode()  # no way around the step
    response = client.post(VERIFY, {"code": code_for(device), "next": ADMIN})
    assert response.status_code == 302
    assert response["Location"] == ADMIN
    assert client.get(ADMIN).status_code == 200
    assert 'class="topnav"' in client.get(reverse("accounts:two_factor")).content.decode()
    event = AuditEvent.objects.filter(action="auth.two_factor_verified").get()
    assert (event.actor, event.details) == (staff_user, {"method": "authenticator"})


def test_a_totp_code_cannot_be_replayed(staff_user: User) -> None:
    device = authenticator(staff_user)
    code = code_for(device)
    first = Client()
    password_login(first, "staff")
    assert first.post(VERIFY, {"code": code}).status_code == 302
    # Someone who saw the code (and has the password) tries it in another session.
    second = Client()
    password_login(second, "staff")
    replay = second.post(VERIFY, {"code": code})
    assert replay.status_code == 200
    assert "That code is not valid" in replay.content.decode()
    assert second.get(ADMIN).status_code == 302
    assert AuditEvent.objects.filter(action="auth.two_factor_failed", actor=staff_user).exists()
    # The next time step's code is a new code and is accepted (after the 1 s throttle).
    time.sleep(1.1)
    assert second.post(VERIFY, {"code": code_for(device, steps_ahead=1)}).status_code == 302
    assert second.get(ADMIN).status_code == 200


def test_wrong_codes_are_throttled(client: Client, staff_user: User) -> None:
    device = authenticator(staff_user)
    password_login(client, "staff")
    assert "That code is not valid" in client.post(VERIFY, {"code": "000000"}).content.decode()
    throttled = client.post(VERIFY, {"code": code_for(device)})
    assert "Too many wrong codes" in throttled.content.decode()
    assert client.get(ADMIN).status_code == 302


def test_enrolment_shows_a_qr_code_and_issues_recovery_codes(
    client: Client, staff_user: User
) -> None:
    password_login(client, "staff")
    page = client.get(SETUP)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in html
    assert page.context["secret"] in html
    assert page["Cache-Control"].startswith("max-age=0")
    key = client.session["two_factor_setup_key"]
    wrong = client.post(SETUP, {"code": "123456"})
    assert "That code is not valid" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=staff_user).exists()
    pending = TOTPDevice(key=key)
    done = client.post(SETUP, {"code": code_for(pending)})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10
    assert all(code in done.content.decode() for code in codes)
    assert TOTPDevice.objects.get(user=staff_user).confirmed
    assert client.get(ADMIN).status_code == 200  # enrolling verified this session
    assert AuditEvent.objects.filter(action="auth.two_factor_enrolled", actor=staff_user).exists()


def test_a_recovery_code_works_once(staff_user: User) -> None:
    setup = Client()
    password_login(setup, "staff")
    setup.get(SETUP)
    pending = TOTPDevice(key=setup.session["two_factor_setup_key"])
    codes = setup.post(SETUP, {"code": code_for(pending)}).context["codes"]
    first = Client()
    password_login(first, "staff")
    assert first.post(VERIFY, {"code": codes[0].upper()}).status_code == 302
    assert first.get(ADMIN).status_code == 200
    assert StaticToken.objects.filter(device__user=staff_user).count() == 9
    second = Client()
    password_login(second, "staff")
    assert "That code is not valid" in second.post(VERIFY, {"code": codes[0]}).content.decode()


def test_only_a_verified_session_may_add_a_device_to_an_enrolled_account(
    client: Client, staff_user: User
) -> None:
    StaticToken.objects.create(
        device=staff_user.staticdevice_set.create(name="Recovery codes", confirmed=True),
        token="abcdefgh",
    )
    password_login(client, "staff")
    response = client.get(SETUP)
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    assert client.post(SETUP, {"code": "123456"}).status_code == 302
    assert not TOTPDevice.objects.filter(user=staff_user).exists()


def test_manufacturer_users_need_two_factor_when_their_company_requires_it(
    acme: Manufacturer, acme_user: User, globex_user: User
) -> None:
    acme.require_two_factor = True
    acme.save()
    acme_client, globex_client = Client(), Client()
    password_login(acme_client, "acme")
    password_login(globex_client, "globex")
    orders = reverse("orders:purchase_order_list")
    refused = acme_client.get(orders)
    assert refused.status_code == 302
    assert refused["Location"].startswith(SETUP)
    assert "Your account must use two-factor" in acme_client.get(SETUP).content.decode()
    assert globex_client.get(orders).status_code == 200


def test_a_manufacturer_user_may_turn_it_on_and_is_then_asked_for_codes(
    acme_user: User,
) -> None:
    client = Client()
    password_login(client, "acme")
    status = client.get(reverse("accounts:two_factor"))
    assert "Two-factor authentication is off" in status.content.decode()
    client.get(SETUP)
    pending = TOTPDevice(key=client.session["two_factor_setup_key"])
    assert client.post(SETUP, {"code": code_for(pending)}).status_code == 200
    later = Client()
    password_login(later, "acme")
    assert later.get(reverse("orders:purchase_order_list"))["Location"].startswith(VERIFY)


def test_recovery_codes_are_replaced_only_by_post_from_a_verified_session(
    client: Client, staff_user: User
) -> None:
    url = reverse("accounts:two_factor_recovery_codes")
    login_verified(client, staff_user)
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 200
    assert len(response.context["codes"]) == 10
    assert StaticToken.objects.filter(device__user=staff_user).count() == 10
    again = client.post(url)
    assert set(again.context["codes"]).isdisjoint(response.context["codes"])
    assert StaticToken.objects.filter(device__user=staff_user).count() == 10


def test_the_demo_staff_code_from_the_command_opens_the_admin(client: Client) -> None:
    import io

    call_command("demo_data")
    out = io.StringIO()
    call_command("demo_totp", stdout=out)
    code = out.getvalue().split()[0]
    assert (
        client.post(LOGIN, {"username": "staff", "password": "staff-demo-2026"}).status_code == 302
    )
    assert client.post(VERIFY, {"code": code}).status_code == 302
    assert client.get(ADMIN).status_code == 200
