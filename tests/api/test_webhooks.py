"""Webhooks: signed per Standard Webhooks, sent after commit, retried, logged, disabled."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent
from audit.services import audit_record
from orders.models import PurchaseOrder
from orders.services import original_delivery_record
from tests.api.conftest import ApiClient, make_key
from tests.api.receiver import Receiver, event_types, receiver_running
from tokens.generation import token_file_generate
from tokens.models import TokenFile
from webhooks.models import EVENT_TYPES, WebhookEndpoint, WebhookMessage
from webhooks.services import (
    retry_delay,
    webhook_attempt,
    webhook_emit,
    webhook_endpoint_create,
)
from workorders.models import WorkOrder
from workorders.services import work_order_submit

pytestmark = pytest.mark.django_db


def _endpoint(user: User, receiver: Receiver, events: list[str] | None = None) -> WebhookEndpoint:
    made = webhook_endpoint_create(user=user, url=receiver.url, events=events or list(EVENT_TYPES))
    receiver.secret = made.secret
    return made.endpoint


def _send_all() -> None:
    """What the worker does with each message the commit enqueued: one try each, now."""
    for message_id in WebhookMessage.objects.filter(status="pending").values_list("pk", flat=True):
        webhook_attempt(message_id=message_id)


def test_every_event_arrives_signed_and_verifies(
    acme_user: User,
    seed_order: PurchaseOrder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with receiver_running() as receiver:
        _endpoint(acme_user, receiver)
        api = ApiClient(make_key(acme_user))
        with django_capture_on_commit_callbacks():
            product = seed_order.products.order_by("pk").first()
            assert product is not None
            taken = api.post(
                f"/api/v1/orders/{seed_order.number}/deliveries",
                {"product_id": product.product_id, "quantity": 3},
            )
            assert taken.status_code == 201
            token_file_generate(token_file_id=TokenFile.objects.get(delivery__isnull=False).pk)
            original_delivery_record(order_id=seed_order.pk, quantity=100, user=None)
            work_order_submit(
                user=acme_user,
                work_order_type=WorkOrder.Type.TOOL,
                order=None,
                description="Tool please",
                contact="Jane",
                submission_key=uuid.uuid4(),
            )
            # The void service is another change's; its audit event is the hook it will meet.
            audit_record(
                action="delivery.voided",
                obj=seed_order.new_deliveries.get(),
                manufacturer=seed_order.manufacturer,
            )
        _send_all()
    assert receiver.refused_signatures == 0
    assert sorted(event_types(receiver.accepted)) == sorted(
        [
            "delivery.taken",
            "token_file.ready",
            "order.delivered",
            "work_order.updated",
            "delivery.voided",
        ]
    )
    taken_event = next(e for e in receiver.accepted if e["payload"]["type"] == "delivery.taken")
    assert taken_event["payload"]["data"]["delivery"]["id"] == taken.json()["id"]
    assert len({e["id"] for e in receiver.accepted}) == len(receiver.accepted)


def test_nothing_is_sent_for_a_rolled_back_change(
    acme_user: User, seed_order: PurchaseOrder
) -> None:
    with receiver_running() as receiver:
        _endpoint(acme_user, receiver, ["delivery.taken"])
        api = ApiClient(make_key(acme_user))
        refused = api.post(
            f"/api/v1/orders/{seed_order.number}/deliveries",
            {"product_id": "nope", "quantity": 3},
        )
        assert refused.status_code == 422
    assert not WebhookMessage.objects.exists()


def test_a_receiver_failing_twice_gets_the_event_once_and_the_portal_shows_three_attempts(
    acme_user: User,
    acme_client: Client,
    seed_order: PurchaseOrder,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scheduled: list[tuple[Any, float]] = []
    monkeypatch.setattr(
        "webhooks.tasks.webhook_send.apply_async",
        lambda args, countdown=0: scheduled.append((args, countdown)),
    )
    with receiver_running() as receiver:
        endpoint = _endpoint(acme_user, receiver, ["delivery.taken"])
        receiver.statuses = [500, 503]
        with django_capture_on_commit_callbacks(execute=True):
            product = seed_order.products.order_by("pk").first()
            assert product is not None
            ApiClient(make_key(acme_user)).post(
                f"/api/v1/orders/{seed_order.number}/deliveries",
                {"product_id": product.product_id, "quantity": 3},
            )
        message = WebhookMessage.objects.get()
        assert scheduled == [((message.pk,), 0)]  # sent by a task after the commit
        for attempt_number in (1, 2, 3):
            with django_capture_on_commit_callbacks(execute=True):
                attempt = webhook_attempt(message_id=message.pk)
            assert attempt is not None
            if attempt_number < 3:
                # The failure scheduled the next try after a growing pause.
                assert scheduled[-1][1] == pytest.approx(
                    retry_delay(attempt_number).total_seconds(), abs=1
                )
                assert webhook_attempt(message_id=message.pk) is None  # not yet due
                WebhookMessage.objects.filter(pk=message.pk).update(
                    next_attempt_at=timezone.now()
                )  # time passes
    assert len(receiver.received) == 3
    assert [e["id"] for e in receiver.accepted] == [message.msg_id]
    message.refresh_from_db()
    assert message.status == "succeeded"
    page = acme_client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert page.count('class="webhook-attempt"') == 3
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_send_again_from_the_portal_is_one_more_attempt(
    acme_user: User, acme_client: Client
) -> None:
    with receiver_running() as receiver:
        endpoint = _endpoint(acme_user, receiver, ["delivery.taken"])
        assert acme_user.manufacturer is not None
        webhook_emit(
            manufacturer_id=acme_user.manufacturer.pk, event_type="delivery.taken", data={}
        )
        message = WebhookMessage.objects.get()
        _send_all()
        response = acme_client.post(
            reverse("webhooks:resend", args=[endpoint.pk, message.pk]), follow=True
        )
        assert response.status_code == 200
    assert len(receiver.accepted) == 2
    assert receiver.accepted[0]["id"] == receiver.accepted[1]["id"] == message.msg_id
    assert message.attempts.filter(manual=True).count() == 1
    assert AuditEvent.objects.filter(action="webhook.resent").exists()


def test_an_endpoint_failing_for_a_day_is_disabled_and_its_owners_emailed(
    acme_user: User, django_capture_on_commit_callbacks: Any
) -> None:
    with receiver_running() as receiver:
        endpoint = _endpoint(acme_user, receiver, ["delivery.taken"])
        receiver.statuses = [500]
        assert acme_user.manufacturer is not None
        webhook_emit(
            manufacturer_id=acme_user.manufacturer.pk, event_type="delivery.taken", data={}
        )
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=timezone.now() - timedelta(hours=25)
        )
        with django_capture_on_commit_callbacks(execute=True):
            _send_all()
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert WebhookMessage.objects.get().status == "failed"
    assert [m.to for m in mail.outbox] == [[acme_user.email]]
    assert AuditEvent.objects.filter(action="webhook.endpoint_disabled").exists()


def test_a_message_older_than_a_day_is_given_up(acme_user: User) -> None:
    with receiver_running() as receiver:
        _endpoint(acme_user, receiver, ["delivery.taken"])
        receiver.statuses = [500]
        assert acme_user.manufacturer is not None
        webhook_emit(
            manufacturer_id=acme_user.manufacturer.pk, event_type="delivery.taken", data={}
        )
        WebhookMessage.objects.update(created_at=timezone.now() - timedelta(hours=24))
        _send_all()
    assert WebhookMessage.objects.get().status == "failed"


def test_private_targets_are_refused_again_at_send_time(acme_user: User, settings: Any) -> None:
    with receiver_running() as receiver:
        _endpoint(acme_user, receiver, ["delivery.taken"])
        assert acme_user.manufacturer is not None
        webhook_emit(
            manufacturer_id=acme_user.manufacturer.pk, event_type="delivery.taken", data={}
        )
        # The address is now refused (as when a public name starts resolving to loopback).
        settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
        _send_all()
    assert receiver.received == []
    attempt = WebhookMessage.objects.get().attempts.get()
    assert attempt.status_code is None
    assert "https" in attempt.error or "loopback" in attempt.error
