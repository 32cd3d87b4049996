"""Roles beyond taking and submitting: who may make and revoke API keys, manage webhooks, and
carry on a work order's conversation (reply, confirm, close). Each is checked by the service
(``accounts.access.role_require``), so the portal, the API and any other caller are refused
alike; the pages show the reason instead of the button."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Manufacturer, User
from api.errors import ApiError
from api.models import ApiKey
from api.services import api_key_create, api_key_revoke
from tests.accounts.test_roles import _private_files, member
from tests.api.conftest import ApiClient
from tests.factories import StaffUserFactory, UserFactory
from webhooks.errors import WebhookError
from webhooks.models import WebhookEndpoint, WebhookMessage
from webhooks.services import (
    webhook_emit,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_enable,
    webhook_resend,
)
from workorders.errors import WorkOrderError
from workorders.models import WorkOrder, WorkOrderMessage
from workorders.services import (
    work_order_close,
    work_order_confirm,
    work_order_reply,
    work_order_submit,
    work_order_tool_attach,
)
from workorders.transitions import Side

VIEWER, PLANNER, ADMINISTRATOR = User.Role.VIEWER, User.Role.PLANNER, User.Role.ADMINISTRATOR
ROLES = [VIEWER, PLANNER, ADMINISTRATOR]
HOOK_URL = "http://127.0.0.1:9/hook"  # test settings allow private targets
__all__ = ["_private_files"]  # autouse: each test's private files in its own folder


def admin_of(acme: Manufacturer) -> User:
    return UserFactory(username="acme-boss", manufacturer=acme, role=ADMINISTRATOR)


def refused_or_done(run: Callable[[], object], error: type[Exception], allowed: bool) -> None:
    """Run ``run``: it succeeds when ``allowed``, else it raises ``error("role_forbidden")``."""
    if allowed:
        run()
        return
    with pytest.raises(error) as refused:
        run()
    assert refused.value.code == "role_forbidden"  # type: ignore[attr-defined]
    assert refused.value.status == 403  # type: ignore[attr-defined]


# --- API keys: administrators only -----------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.django_db
def test_only_administrators_make_api_keys(acme: Manufacturer, role: str) -> None:
    user = member(acme, role)
    refused_or_done(
        lambda: api_key_create(user=user, name="Line 1", scopes=["read"]),
        ApiError,
        allowed=role == ADMINISTRATOR,
    )
    assert ApiKey.objects.count() == (1 if role == ADMINISTRATOR else 0)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.django_db
def test_only_administrators_revoke_api_keys(acme: Manufacturer, role: str) -> None:
    key = api_key_create(user=admin_of(acme), name="Line 1", scopes=["read"]).api_key
    refused_or_done(
        lambda: api_key_revoke(key_id=key.pk, user=member(acme, role)),
        ApiError,
        allowed=role == ADMINISTRATOR,
    )
    key.refresh_from_db()
    assert (key.revoked_at is not None) == (role == ADMINISTRATOR)


@pytest.mark.django_db
def test_staff_still_revoke_any_key(acme: Manufacturer) -> None:
    key = api_key_create(user=admin_of(acme), name="Line 1", scopes=["read"]).api_key
    api_key_revoke(key_id=key.pk, user=StaffUserFactory(username="staff-keys"))
    key.refresh_from_db()
    assert key.revoked_at is not None


# --- Webhooks: administrators only -----------------------------------------------------------


def _endpoint(acme: Manufacturer) -> WebhookEndpoint:
    return webhook_endpoint_create(
        user=admin_of(acme), url=HOOK_URL, events=["delivery.taken"]
    ).endpoint


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.django_db
def test_only_administrators_add_webhook_endpoints(acme: Manufacturer, role: str) -> None:
    user = member(acme, role)
    refused_or_done(
        lambda: webhook_endpoint_create(user=user, url=HOOK_URL, events=["delivery.taken"]),
        WebhookError,
        allowed=role == ADMINISTRATOR,
    )
    assert WebhookEndpoint.objects.count() == (1 if role == ADMINISTRATOR else 0)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.django_db
def test_only_administrators_enable_remove_or_resend(acme: Manufacturer, role: str) -> None:
    endpoint = _endpoint(acme)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    user = member(acme, role)
    allowed = role == ADMINISTRATOR
    refused_or_done(
        lambda: webhook_endpoint_enable(endpoint_id=endpoint.pk, user=user),
        WebhookError,
        allowed=allowed,
    )
    endpoint.refresh_from_db()
    assert endpoint.is_active == allowed
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=True)
    webhook_emit(manufacturer_id=acme.pk, event_type="delivery.taken", data={"delivery": {}})
    message = WebhookMessage.objects.get()
    refused_or_done(
        lambda: webhook_resend(message_id=message.pk, user=user), WebhookError, allowed=allowed
    )
    assert message.attempts.filter(manual=True).exists() == allowed
    refused_or_done(
        lambda: webhook_endpoint_delete(endpoint_id=endpoint.pk, user=user),
        WebhookError,
        allowed=allowed,
    )
    assert WebhookEndpoint.objects.exists() != allowed


# --- Work orders: whoever may submit one may reply, confirm and close ------------------------


def _work_order(acme: Manufacturer, *, tool: bool = False) -> WorkOrder:
    work_order = work_order_submit(
        user=member(acme, PLANNER),
        work_order_type=WorkOrder.Type.TOOL,
        order=None,
        description="Tool please",
        contact="Jane",
        submission_key=uuid.uuid4(),
    ).work_order
    if tool:  # staff attach the tool: Waiting for your confirmation
        work_order_tool_attach(
            work_order_id=work_order.pk,
            user=StaffUserFactory(username="staff-tool"),
            tool_link="https://example.com/tool.zip",
        )
    return work_order


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.django_db
def test_replies_follow_the_submit_role(acme: Manufacturer, role: str) -> None:
    work_order = _work_order(acme)
    user = member(acme, role)
    refused_or_done(
        lambda: work_order_reply(
            work_order_id=work_order.pk, user=user, side=Side.MANUFACTURER, body="More detail"
        ),
        WorkOrderError,
        allowed=role != VIEWER,
    )
    assert WorkOrderMessage.objects.filter(author=user).exists() == (role != VIEWER)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.django_db
def test_confirming_follows_the_submit_role(acme: Manufacturer, role: str) -> None:
    work_order = _work_order(acme, tool=True)
    user = member(acme, role)
    refused_or_done(
        lambda: work_order_confirm(work_order_id=work_order.pk, user=user),
        WorkOrderError,
        allowed=role != VIEWER,
    )
    work_order.refresh_from_db()
    expected = WorkOrder.Status.AWAITING_CONFIRMATION if role == VIEWER else "completed"
    assert work_order.status == expected


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.django_db
def test_closing_follows_the_submit_role(acme: Manufacturer, role: str) -> None:
    work_order = _work_order(acme)
    user = member(acme, role)
    refused_or_done(
        lambda: work_order_close(work_order_id=work_order.pk, user=user, side=Side.MANUFACTURER),
        WorkOrderError,
        allowed=role != VIEWER,
    )
    work_order.refresh_from_db()
    assert (work_order.status == WorkOrder.Status.CLOSED) == (role != VIEWER)


@pytest.mark.django_db
def test_staff_replies_are_not_limited_by_roles(acme: Manufacturer) -> None:
    work_order = _work_order(acme)
    work_order_reply(
        work_order_id=work_order.pk,
        user=StaffUserFactory(username="staff-reply"),
        side=Side.STAFF,
        body="Here you are",
    )
    assert work_order.messages.count() == 1


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.django_db
def test_the_api_refuses_a_viewers_reply_with_a_403_problem(
    acme: Manufacturer, language: str
) -> None:
    maker = admin_of(acme)
    key = api_key_create(user=maker, name="Line 1", scopes=["read", "work_orders"]).plaintext
    work_order = _work_order(acme)
    maker.role = VIEWER  # a key acts with its maker's role at each request
    maker.save(update_fields=["role"])
    refused = ApiClient(key, language=language).post(
        f"/api/v1/work-orders/{work_order.pk}/replies", {"body": "More detail"}
    )
    assert refused.status_code == 403, refused.content
    assert refused["Content-Type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == "role_forbidden"
    expected = "查看者" if language == "zh-hans" else "Your role is Viewer"
    assert expected in problem["detail"]
    assert not WorkOrderMessage.objects.exists()


# --- Pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.django_db
def test_a_viewer_sees_why_instead_of_the_buttons(acme: Manufacturer, language: str) -> None:
    key = api_key_create(user=admin_of(acme), name="Line 1", scopes=["read"]).api_key
    endpoint = _endpoint(acme)
    work_order = _work_order(acme, tool=True)
    client = Client(headers={"Accept-Language": language})
    client.force_login(member(acme, VIEWER))
    reason = "查看者" if language == "zh-hans" else "Your role is Viewer"

    keys = client.get(reverse("api_keys:list")).content.decode()
    assert 'id="keys-refused-by-role"' in keys
    assert reason in keys
    assert reverse("api_keys:revoke", args=[key.pk]) not in keys
    assert 'name="name"' not in keys
    hooks = client.get(reverse("webhooks:list")).content.decode()
    assert 'id="webhooks-refused-by-role"' in hooks
    assert 'name="url"' not in hooks
    detail = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert 'id="webhooks-refused-by-role"' in detail
    assert reverse("webhooks:delete", args=[endpoint.pk]) not in detail
    page = client.get(reverse("workorders:detail", args=[work_order.pk])).content.decode()
    assert 'id="reply-refused-by-role"' in page
    assert reason in page
    assert 'value="reply"' not in page
    assert 'value="confirm"' not in page

    client.force_login(admin_of(acme))
    keys = client.get(reverse("api_keys:list")).content.decode()
    assert reverse("api_keys:revoke", args=[key.pk]) in keys
    detail = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert reverse("webhooks:delete", args=[endpoint.pk]) in detail
    page = client.get(reverse("workorders:detail", args=[work_order.pk])).content.decode()
    assert 'value="reply"' in page
    assert 'value="confirm"' in page


@pytest.mark.django_db
def test_a_viewer_posting_anyway_is_refused_with_the_reason(acme: Manufacturer) -> None:
    key = api_key_create(user=admin_of(acme), name="Line 1", scopes=["read"]).api_key
    endpoint = _endpoint(acme)
    work_order = _work_order(acme)
    client = Client()
    client.force_login(member(acme, VIEWER))
    made = client.post(
        reverse("api_keys:list"),
        {"name": "Mine", "scopes": ["read"], "form_key": str(uuid.uuid4())},
    )
    assert made.status_code == 403
    assert ApiKey.objects.count() == 1
    client.post(reverse("api_keys:revoke", args=[key.pk]))
    key.refresh_from_db()
    assert key.revoked_at is None
    added = client.post(
        reverse("webhooks:list"),
        {"url": HOOK_URL, "events": ["delivery.taken"], "form_key": str(uuid.uuid4())},
    )
    assert added.status_code == 403
    removed = client.post(reverse("webhooks:delete", args=[endpoint.pk]), follow=True)
    assert "Your role is Viewer" in removed.content.decode()
    assert WebhookEndpoint.objects.count() == 1
    replied = client.post(
        reverse("workorders:detail", args=[work_order.pk]),
        {"action": "reply", "body": "More", "reply_key": str(uuid.uuid4())},
    )
    assert replied.status_code == 403
    closed = client.post(reverse("workorders:detail", args=[work_order.pk]), {"action": "close"})
    assert closed.status_code == 403
    work_order.refresh_from_db()
    assert (work_order.status, work_order.messages.count()) == (
        WorkOrder.Status.TO_BE_DISPATCHED,
        0,
    )
