"""Every URL of the project, walked from the resolver: tenancy, CSRF, methods and headers.

``ROUTES`` classifies every named URL outside the admin. A new URL pattern fails
``test_every_url_is_classified`` until it is added here; one with an object in it (any URL
argument) also needs a ``kwargs`` builder that names an object of the owner (Acme), so that the
tenancy test can prove another manufacturer (Globex) gets 404 for it.

- ``page``: GET shows a page (it may also take a form POST);
- ``action``: POST only, it changes something; GET is refused with 405.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RoutePattern
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from accounts.services import NewInvitation, invitation_create
from api.models import ApiKey
from api.services import api_key_create
from audit.models import AuditEvent
from deliveries.models import NewDelivery
from deliveries.old_uuids import old_uuid_list_store
from notifications.models import Notice
from orders.models import PurchaseOrder
from tests.conftest import delivered_license_order
from tests.deliveries.conftest import take
from tests.factories import StaffUserFactory, UserFactory
from tokens.generation import token_file_generate
from webhooks.models import WebhookEndpoint, WebhookMessage
from webhooks.services import webhook_emit, webhook_endpoint_create
from workorders.models import WorkOrder, WorkOrderAttachment
from workorders.services import work_order_submit, work_order_tool_attach

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@dataclass
class World:
    """Objects owned by Acme, made on first use; builders of ``ROUTES`` take what they need."""

    owner: User

    @cached_property
    def order(self) -> PurchaseOrder:
        assert self.owner.manufacturer is not None
        return delivered_license_order(self.owner.manufacturer, number="ACME-SEC-0001")

    @cached_property
    def delivery(self) -> NewDelivery:
        return take(self.order, self.owner, 5).delivery

    @cached_property
    def old_uuid_list(self) -> str:
        return old_uuid_list_store(order_id=self.order.pk, lines=[(1, "not-a-uuid")])

    @cached_property
    def work_order(self) -> WorkOrder:
        """A tool request with an attachment, the tool attached by staff (as a link)."""
        work_order = work_order_submit(
            user=self.owner,
            work_order_type=WorkOrder.Type.TOOL,
            order=None,
            description="Please send the refurbishment tool.",
            contact="Jane Doe, jane@example.com",
            attachments=[SimpleUploadedFile("label.pdf", PDF, content_type="application/pdf")],
            submission_key=uuid.uuid4(),
        ).work_order
        staff = StaffUserFactory(username="security-staff")
        return work_order_tool_attach(
            work_order_id=work_order.pk, user=staff, tool_link="https://example.com/tool.zip"
        )

    @cached_property
    def api_key(self) -> ApiKey:
        return api_key_create(user=self.owner, name="Line 1", scopes=["read"]).api_key

    @cached_property
    def webhook(self) -> WebhookEndpoint:
        return webhook_endpoint_create(
            user=self.owner, url="http://127.0.0.1:9/hook", events=["delivery.taken"]
        ).endpoint

    @cached_property
    def webhook_message(self) -> WebhookMessage:
        endpoint = self.webhook
        assert self.owner.manufacturer is not None
        webhook_emit(
            manufacturer_id=self.owner.manufacturer.pk,
            event_type="delivery.taken",
            data={"delivery": {"id": 1}},
        )
        return endpoint.messages.get()

    @cached_property
    def colleague(self) -> User:
        return UserFactory(username="acme-colleague", manufacturer=self.owner.manufacturer)

    @cached_property
    def invitation(self) -> NewInvitation:
        admin = UserFactory(
            username="acme-admin", manufacturer=self.owner.manufacturer, role="administrator"
        )
        return invitation_create(
            actor=admin,
            email="new.colleague@example.com",
            role="viewer",
            language="en",
            site_url="http://testserver",
        )

    @cached_property
    def notice(self) -> Notice:
        """The owner's notice that their token file is ready (its job run here)."""
        token_file = token_file_generate(token_file_id=self.delivery.file.pk)
        assert token_file is not None
        event = AuditEvent.objects.filter(
            action="tokens.file_ready", object_id=str(token_file.pk)
        ).get()
        return Notice.objects.get(user=self.owner, audit_event_id=event.pk)

    @cached_property
    def attachment(self) -> WorkOrderAttachment:
        attachment = self.work_order.attachments.first()
        assert attachment is not None
        return attachment


Kwargs = Callable[[World], dict[str, Any]]


def password_reset_kwargs(world: World) -> dict[str, Any]:
    """The link of a reset email to Acme's user (Django's uid and token)."""
    return {
        "uidb64": urlsafe_base64_encode(force_bytes(world.owner.pk)),
        "token": default_token_generator.make_token(world.owner),
    }


@dataclass(frozen=True)
class Route:
    kind: Literal["page", "action"] = "page"
    kwargs: Kwargs | None = None
    anonymous: bool = False  # meant for people who are not logged in (the log-in page)


ROUTES: dict[str, Route] = {
    "home": Route(),
    "set_language": Route("action", anonymous=True),
    "accounts:login": Route(anonymous=True),
    "accounts:logout": Route("action"),
    "accounts:two_factor": Route(),
    "accounts:two_factor_verify": Route(),
    "accounts:two_factor_setup": Route(),
    "accounts:two_factor_recovery_codes": Route("action"),
    # The team and forgot password (issue #18); the anonymous links carry a secret, not an
    # object of the logged-in user's manufacturer.
    "accounts:team": Route(),
    "accounts:team_member": Route("action", kwargs=lambda w: {"user_id": w.colleague.pk}),
    "accounts:invitation_withdraw": Route(
        "action", kwargs=lambda w: {"invitation_id": w.invitation.invitation.pk}
    ),
    "accounts:invitation_accept": Route(
        anonymous=True, kwargs=lambda w: {"token": w.invitation.token}
    ),
    "accounts:password_reset": Route(anonymous=True),
    "accounts:password_reset_done": Route(anonymous=True),
    "accounts:password_reset_confirm": Route(anonymous=True, kwargs=password_reset_kwargs),
    "accounts:password_reset_complete": Route(anonymous=True),
    "orders:purchase_order_list": Route(),
    "orders:purchase_order_csv": Route(),
    "orders:purchase_order_xlsx": Route(),
    "orders:order_detail": Route(kwargs=lambda w: {"number": w.order.number}),
    "deliveries:delivery_csv": Route(),
    "deliveries:delivery_xlsx": Route(),
    "deliveries:order_delivery_csv": Route(kwargs=lambda w: {"number": w.order.number}),
    "deliveries:order_delivery_xlsx": Route(kwargs=lambda w: {"number": w.order.number}),
    "deliveries:initiate": Route(kwargs=lambda w: {"number": w.order.number}),
    "deliveries:delivery_list": Route(),
    "deliveries:void": Route("action", kwargs=lambda w: {"delivery_id": w.delivery.pk}),
    "deliveries:order_delivery_list": Route(kwargs=lambda w: {"number": w.order.number}),
    "deliveries:old_uuid_problems": Route(
        kwargs=lambda w: {"number": w.order.number, "key": w.old_uuid_list}
    ),
    "tokens:original_download": Route(
        kwargs=lambda w: {
            "original_delivery_id": w.order.original_deliveries.get().pk,
            "file_format": "csv",
            "part": 1,
        }
    ),
    "tokens:download": Route(kwargs=lambda w: {"delivery_id": w.delivery.pk}),
    "tokens:download_file": Route(
        kwargs=lambda w: {"delivery_id": w.delivery.pk, "file_format": "xlsx", "part": 1}
    ),
    "tokens:order_download": Route(
        kwargs=lambda w: {"number": w.order.number, "file_format": "xlsx"}
    ),
    "workorders:list": Route(),
    "workorders:submit": Route(),
    "workorders:detail": Route(kwargs=lambda w: {"pk": w.work_order.pk}),
    "workorders:tool_download": Route(kwargs=lambda w: {"pk": w.work_order.pk}),
    "workorders:attachment_download": Route(
        kwargs=lambda w: {"pk": w.work_order.pk, "attachment_id": w.attachment.pk}
    ),
    "audit:activity": Route(),
    "audit:export_csv": Route(),
    "audit:export_xlsx": Route(),
    # Token lookup and revocation list (issue #16): nothing in the URL; tenancy by the query.
    "tokens:lookup": Route(),
    "tokens:revocation_list": Route(),
    # API keys and webhooks (issue #17): portal pages of the api and webhooks apps.
    "api_keys:list": Route(),
    "api_keys:revoke": Route("action", kwargs=lambda w: {"key_id": w.api_key.pk}),
    "webhooks:list": Route(),
    "webhooks:detail": Route(kwargs=lambda w: {"pk": w.webhook.pk}),
    "webhooks:enable": Route("action", kwargs=lambda w: {"pk": w.webhook.pk}),
    "webhooks:delete": Route("action", kwargs=lambda w: {"pk": w.webhook.pk}),
    "webhooks:resend": Route(
        "action", kwargs=lambda w: {"pk": w.webhook.pk, "message_id": w.webhook_message.pk}
    ),
    # For orchestrators and monitoring: no session (metrics needs its own token).
    "notifications:settings": Route(),
    "notifications:time_zone_detect": Route("action"),
    "notifications:list": Route(),
    "notifications:read": Route("action", kwargs=lambda w: {"pk": w.notice.pk}),
    "notifications:read_all": Route("action"),
    "healthz": Route(anonymous=True),
    "readyz": Route(anonymous=True),
    "metrics": Route(anonymous=True),
}

# Staff only, behind the OTP admin site; checked separately below.
STAFF_NAMESPACES = {"admin"}
# The public API (bearer keys, no session or CSRF): classified in API_ROUTES at the end.
API_NAMESPACES = {"api_v1"}


@dataclass(frozen=True)
class Pattern:
    name: str | None
    route: str
    namespace: str
    arguments: tuple[str, ...] = field(default=())


def _arguments(pattern: Any) -> tuple[str, ...]:
    """The names of a pattern's arguments: a ``path()``'s converters, a ``re_path()``'s named
    groups (its unnamed ones numbered). A ``RegexPattern`` has an empty ``converters`` too, so
    the kind of pattern decides, not the attribute."""
    if isinstance(pattern, RoutePattern):
        return tuple(pattern.converters)
    regex = pattern.regex
    return tuple(regex.groupindex) or tuple(f"arg{i}" for i in range(regex.groups))


def walk(
    patterns: list[URLPattern | URLResolver] | None = None,
    namespace: str = "",
    prefix: str = "",
    arguments: tuple[str, ...] = (),
) -> Iterator[Pattern]:
    """Every URL pattern of the project, with its namespaced name and all its arguments."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        here = arguments + _arguments(entry.pattern)
        # Joined as Django joins ``ResolverMatch.route``, so that a resolved URL names its pattern.
        route = prefix + str(entry.pattern).removeprefix("^") if prefix else str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, inner, route, here)
        else:
            name = f"{namespace}{entry.name}" if entry.name else None
            yield Pattern(name=name, route=route, namespace=namespace.rstrip(":"), arguments=here)


PORTAL = [p for p in walk() if p.namespace.split(":")[0] not in STAFF_NAMESPACES | API_NAMESPACES]
API = [p for p in walk() if p.namespace.split(":")[0] in API_NAMESPACES]
STAFF = [p for p in walk() if p.namespace.split(":")[0] in STAFF_NAMESPACES]
# An anonymous route's argument is a secret from an email (a reset or invitation link), not an
# object of the logged-in user's manufacturer: the tenancy walk does not apply to it.
OBJECT_ROUTES = sorted(
    name for name, route in ROUTES.items() if route.kwargs and not route.anonymous
)


def test_every_url_is_classified() -> None:
    unnamed = [p.route for p in PORTAL if p.name is None]
    assert not unnamed, f"give these URL patterns a name and a ROUTES entry: {unnamed}"
    missing = sorted({p.name for p in PORTAL if p.name not in ROUTES})  # type: ignore[misc]
    assert not missing, f"add these URLs to ROUTES in {__file__}: {missing}"
    uncovered = sorted(
        p.name  # type: ignore[misc]
        for p in PORTAL
        if p.arguments and ROUTES[p.name].kwargs is None  # type: ignore[index]
    )
    assert not uncovered, (
        f"these URLs have an object in them; give them a kwargs builder: {uncovered}"
    )
    stale = sorted(set(ROUTES) - {p.name for p in PORTAL})
    assert not stale, f"these ROUTES entries match no URL any more: {stale}"
    assert STAFF, "the admin is mounted"


@pytest.fixture
def owner(acme_user: User) -> User:
    return acme_user


@pytest.fixture
def world(owner: User, settings: Any, tmp_path: Path) -> World:
    # Files the world uploads (work-order attachments) go to this test's own folder.
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path, "base_url": None},
        },
    }
    return World(owner=owner)


def url_for(name: str, world: World) -> str:
    builder = ROUTES[name].kwargs
    return reverse(name, kwargs=builder(world) if builder else None)


@pytest.mark.django_db
@pytest.mark.parametrize("name", OBJECT_ROUTES)
def test_another_manufacturer_gets_404_for_every_object_url(
    name: str, world: World, acme_client: Client, globex_client: Client
) -> None:
    url = url_for(name, world)
    owner_get = acme_client.get(url)
    assert owner_get.status_code != 404, f"{name}: the builder must name an object Acme can see"
    assert globex_client.get(url).status_code == 404
    owner_post = acme_client.post(url)
    other_post = globex_client.post(url)
    # 405 only when the view refuses POST to everyone, which tells nothing about the object.
    assert other_post.status_code == 404 or (
        other_post.status_code == owner_post.status_code == 405
    ), f"{name}: POST by another manufacturer answered {other_post.status_code}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(ROUTES))
def test_every_view_refuses_a_post_without_a_csrf_token(
    name: str, world: World, owner: User
) -> None:
    client = Client(enforce_csrf_checks=True)
    if not ROUTES[name].anonymous:
        client.force_login(owner)
    response = client.post(url_for(name, world), {"anything": "1"})
    assert response.status_code == 403, f"{name} answered {response.status_code}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(n for n, r in ROUTES.items() if r.kind == "action"))
def test_every_state_changing_view_refuses_get(
    name: str, world: World, acme_client: Client, owner: User
) -> None:
    response = acme_client.get(url_for(name, world))
    assert response.status_code == 405, f"{name} answered {response.status_code} to GET"


# Values tried for every argument of a pattern when a test needs some URL of it: an object's
# primary key, an app label (the admin's app index), a path with a slash in it.
ARGUMENT_SAMPLES = ("1", "orders", "1/1")
# An argument in a pattern's route: a path() converter or a re_path() group without groups in it.
ARGUMENT = re.compile(r"<(?:\w+:)?\w+>|\(\?P<\w+>[^()]*\)")


def url_reaching(pattern: Pattern) -> str | None:
    """A URL that resolves to ``pattern`` itself (named or not), made from the pattern's own
    route with each argument set to one of ``ARGUMENT_SAMPLES``; None when none of them does."""
    for sample in ARGUMENT_SAMPLES:
        url = "/" + ARGUMENT.sub(sample, pattern.route).replace("^", "").replace("$", "")
        try:
            match = resolve(url)
        except Resolver404:
            continue
        if match.route == pattern.route:
            return url
    return None


def test_every_admin_pattern_is_reached_by_a_sample_url() -> None:
    """The admin test below visits every admin pattern; this says which it could not reach
    instead of leaving them out, and that the walker keeps a re_path()'s named groups."""
    unreached = [pattern.route for pattern in STAFF if url_reaching(pattern) is None]
    assert not unreached, f"add an ARGUMENT_SAMPLES value that reaches: {unreached}"
    app_index = next(pattern for pattern in STAFF if pattern.name == "admin:app_list")
    assert app_index.arguments == ("app_label",)
    assert url_reaching(app_index) == "/admin/orders/"


@pytest.mark.django_db
def test_the_admin_is_closed_to_manufacturer_users(acme_client: Client) -> None:
    """Every admin URL, named or not, objects or not: a manufacturer user ends up outside the
    admin. A pattern no sample URL reaches fails the test (and the one above names it)."""
    for pattern in STAFF:
        url = url_reaching(pattern)
        assert url is not None, f"no sample URL reaches {pattern.route}"
        response = acme_client.get(url, follow=True)
        final = response.request["PATH_INFO"]
        assert response.status_code in {403, 404, 405} or not final.startswith("/admin/"), (
            pattern.name,
            response.status_code,
            final,
        )


NONCE = re.compile(r"'nonce-([^']+)'")


def assert_security_headers(response: Any, where: str) -> None:
    csp = response.get("Content-Security-Policy", "")
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
    ):
        assert directive in csp, f"{where}: {directive!r} missing from {csp!r}"
    # The nonce is in the header whenever the page used it (a redirect uses none).
    assert re.search(r"script-src 'self'( 'nonce-[^']+')?;", csp), f"{where}: {csp!r}"
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY", where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert response["Referrer-Policy"] == "same-origin", where
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", where
    if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
        html = response.content.decode()
        nonce = NONCE.search(csp)
        assert nonce is not None or "<script" not in html, where
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert nonce is not None
            assert f'nonce="{nonce.group(1)}"' in tag, f"{where}: script without the nonce: {tag}"
        assert "hx-on" not in html, f"{where}: inline hx-on handlers need unsafe-eval"


@pytest.mark.django_db
def test_security_headers_on_every_page(world: World, acme_client: Client, client: Client) -> None:
    for name, route in sorted(ROUTES.items()):
        url = url_for(name, world)
        assert_security_headers((client if route.anonymous else acme_client).get(url), name)
        assert_security_headers(acme_client.post(url), f"{name} (POST)")
    assert_security_headers(client.get("/no-such-page/"), "404 page")


@pytest.mark.django_db
def test_security_headers_on_the_admin(staff_client: Client, world: World) -> None:
    for url in (
        reverse("admin:index"),
        reverse("admin:orders_purchaseorder_changelist"),
        reverse("admin:orders_purchaseorder_change", args=[world.order.pk]),
        reverse("admin:audit_auditevent_changelist"),
    ):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert_security_headers(response, url)


@pytest.mark.django_db
def test_hsts_for_a_year_on_https(client: Client, settings: Any) -> None:
    # The values prod.py sets (tests/security/test_deploy.py reads them from prod.py itself).
    settings.SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    response = client.get(reverse("accounts:login"), secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def path_variants(value: str) -> list[str]:
    """What an attacker puts where an object's key goes: a NUL byte, an overlong value, a
    ``/`` (an extra path segment, or an encoded one), dots."""
    return [f"{value}%00", "%00", value * 50, "9" * 400, f"{value}/x", f"x/{value}", "a%2Fb", ".."]


@pytest.mark.django_db
@pytest.mark.parametrize("name", OBJECT_ROUTES)
def test_odd_path_parameters_are_refused_never_a_500(
    name: str, world: World, acme_client: Client
) -> None:
    builder = ROUTES[name].kwargs
    assert builder is not None
    url = url_for(name, world)
    for value in map(str, builder(world).values()):
        segment = f"/{value}/"
        assert segment in url, (name, value)
        for variant in path_variants(value):
            odd = url.replace(segment, f"/{variant}/", 1)
            for response in (acme_client.get(odd), acme_client.post(odd)):
                assert response.status_code in {400, 404, 405}, (
                    f"{name}: {odd} answered {response.status_code}"
                )


@pytest.mark.django_db
def test_odd_admin_path_parameters_are_refused_never_a_500(staff_client: Client) -> None:
    """The admin's object URLs (``<path:object_id>`` and friends) with the same variants."""
    checked = 0
    for pattern in STAFF:
        if not pattern.arguments:
            continue
        # Every admin pattern is reachable (test_every_admin_pattern_is_reached_by_a_sample_url).
        url = url_reaching(pattern)
        assert url is not None, pattern.route
        for variant in ("1%00", "9" * 400, "1/x", "..", "a%2Fb"):
            odd = url.replace("/1/", f"/{variant}/") if "/1/" in url else f"{url}{variant}/"
            response = staff_client.get(odd)
            assert response.status_code < 500, f"{pattern.route}: {odd} answered 500"
            checked += 1
    assert checked > 50


# --- The public API (issue #17) -------------------------------------------------------------
# Every API operation: no key 401, a key lacking its scope 403, another manufacturer's object
# 404. ``public`` URLs (the schema, its docs page, the catch-all) need no key.


@dataclass(frozen=True)
class ApiRoute:
    method: Literal["get", "post"] = "get"
    scope: str = "read"
    kwargs: Kwargs | None = None
    body: dict[str, Any] | None = None
    public: bool = False


API_ROUTES: dict[str, ApiRoute] = {
    "api_v1:openapi-json": ApiRoute(public=True),
    "api_v1:openapi-view": ApiRoute(public=True),
    "api_v1:api-root": ApiRoute(public=True),
    "api_v1:not_found": ApiRoute(public=True),
    "api_v1:order_list": ApiRoute(),
    "api_v1:order_detail": ApiRoute(kwargs=lambda w: {"number": w.order.number}),
    "api_v1:delivery_list": ApiRoute(),
    "api_v1:order_delivery_list": ApiRoute(kwargs=lambda w: {"number": w.order.number}),
    "api_v1:delivery_take": ApiRoute(
        "post",
        "take",
        kwargs=lambda w: {"number": w.order.number},
        body={"product_id": "p-any", "quantity": 1},
    ),
    "api_v1:delivery_detail": ApiRoute(kwargs=lambda w: {"delivery_id": w.delivery.pk}),
    "api_v1:delivery_file": ApiRoute(
        scope="download", kwargs=lambda w: {"delivery_id": w.delivery.pk}
    ),
    "api_v1:work_order_list": ApiRoute(scope="work_orders"),
    "api_v1:work_order_create": ApiRoute(
        "post", "work_orders", body={"description": "Tool please", "contact": "Jane"}
    ),
    "api_v1:work_order_detail": ApiRoute(
        scope="work_orders", kwargs=lambda w: {"work_order_id": w.work_order.pk}
    ),
    "api_v1:work_order_reply_create": ApiRoute(
        "post",
        "work_orders",
        kwargs=lambda w: {"work_order_id": w.work_order.pk},
        body={"body": "Thanks"},
    ),
    "api_v1:revocation_list": ApiRoute(),
}
API_OPERATIONS = sorted(name for name, route in API_ROUTES.items() if not route.public)


def test_every_api_url_is_classified() -> None:
    names = {p.name for p in API}
    assert None not in names
    assert not sorted(names - set(API_ROUTES)), f"add to API_ROUTES: {names - set(API_ROUTES)}"
    assert not sorted(set(API_ROUTES) - names), f"stale: {set(API_ROUTES) - names}"


def _api_call(name: str, world: World, key: str | None) -> Any:
    route = API_ROUTES[name]
    url = reverse(name, kwargs=route.kwargs(world) if route.kwargs else None)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    client = Client(enforce_csrf_checks=True)
    if route.method == "post":
        return client.post(url, route.body or {}, content_type="application/json", headers=headers)
    return client.get(url, headers=headers)


def _problem(response: Any, status: int, where: str) -> None:
    assert response.status_code == status, f"{where} answered {response.status_code}"
    assert response["Content-Type"] == "application/problem+json", where
    assert "Set-Cookie" not in response, f"{where} set a cookie"


@pytest.mark.django_db
@pytest.mark.parametrize("name", API_OPERATIONS)
def test_every_api_operation_401_403_and_404(name: str, world: World, globex_user: User) -> None:
    route = API_ROUTES[name]
    _problem(_api_call(name, world, None), 401, f"{name} without a key")
    others = [scope for scope in ApiKey.Scope.values if scope != route.scope]
    lacking = api_key_create(user=world.owner, name="lacking", scopes=others).plaintext
    _problem(_api_call(name, world, lacking), 403, f"{name} without {route.scope}")
    owner = api_key_create(user=world.owner, name="owner", scopes=[route.scope]).plaintext
    owner_response = _api_call(name, world, owner)
    assert owner_response.status_code < 500, f"{name}: {owner_response.status_code}"
    assert owner_response.status_code not in {401, 403, 404}, f"{name}: {owner_response.content!r}"
    if route.kwargs:
        stranger = api_key_create(
            user=globex_user, name="stranger", scopes=list(ApiKey.Scope.values)
        ).plaintext
        _problem(_api_call(name, world, stranger), 404, f"{name} for Globex")


@pytest.mark.django_db
def test_the_api_schema_and_docs_need_no_key_and_keep_the_csp(client: Client) -> None:
    schema = client.get(reverse("api_v1:openapi-json"))
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.1")
    docs = client.get(reverse("api_v1:openapi-view"))
    assert docs.status_code == 200
    assert_security_headers(docs, "API docs")
    assert "cdn" not in docs.content.decode().lower()
