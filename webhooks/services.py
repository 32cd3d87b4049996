"""Writes for webhooks: endpoints, the messages an event makes, and each attempt to send one.

Sending follows the Standard Webhooks specification (https://www.standardwebhooks.com/, the
``standardwebhooks`` package signs): headers ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` over the JSON body ``{"type", "timestamp", "data"}``. A message is sent
by a Celery task after the commit of the change it reports, and tried again with growing pauses
(``retry_delay``) for ``WEBHOOK_RETRY_FOR`` (24 h); every try is a ``WebhookAttempt``. An
endpoint whose messages have failed for that long is disabled and its manufacturer's users are
emailed.

Claiming a message for a try is one short transaction (row lock, attempt count, next attempt
time), then the HTTP request runs with no transaction open, then its result is recorded: a
slow receiver never holds a database lock, and two workers never send one try twice.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerError
from standardwebhooks.webhooks import Webhook

from accounts.access import role_require
from accounts.models import User
from audit.services import audit_record
from webhooks.errors import WebhookError
from webhooks.models import EVENT_TYPES, WebhookAttempt, WebhookEndpoint, WebhookMessage
from webhooks.targets import target_check
from workorders.selectors import manufacturer_recipients

logger = logging.getLogger(__name__)

Status = WebhookMessage.Status
# A task may run this much before the message's next try is due (clock skew, countdown rounding).
EARLY = timedelta(seconds=2)


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once to whoever added the endpoint


def retry_delay(attempt: int) -> timedelta:
    """The pause after failed try number ``attempt`` (1-based): 5 s times 4 to the power of
    ``attempt - 1``, at most 6 h (5 s, 20 s, 80 s, 5 min, 21 min, 85 min, 5.7 h, 6 h...)."""
    return timedelta(seconds=min(5 * 4 ** (attempt - 1), 6 * 60 * 60))


def _check_events(events: Iterable[str]) -> list[str]:
    chosen = sorted(set(events))
    if not chosen:
        raise WebhookError("events_empty")
    for event in chosen:
        if event not in EVENT_TYPES:
            raise WebhookError("event_unknown", event=event)
    return chosen


def webhook_endpoint_create(
    *,
    user: User,
    url: str,
    events: Iterable[str],
    form_key: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> NewEndpoint:
    """Add an endpoint for ``user``'s manufacturer with a new signing secret (``whsec_`` and 32
    random bytes in base64, the Standard Webhooks form). Refuses a URL that is not https or
    that resolves to a non-public address (``webhooks.targets``), and unknown events; a resent
    portal form (its ``form_key`` already used) with ``WebhookError("form_reused")``; a role
    that may not ``webhooks.manage`` (administrators only) with ``"role_forbidden"`` (403)."""
    role_require(user=user, action="webhooks.manage", error=WebhookError)
    manufacturer = user.manufacturer
    if manufacturer is None:
        raise WebhookError("not_found")
    url = (url or "").strip()
    target_check(url)
    chosen = _check_events(events)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    if form_key is not None and WebhookEndpoint.objects.filter(form_key=form_key).exists():
        raise WebhookError("form_reused")
    with transaction.atomic():
        try:
            with transaction.atomic():
                endpoint = WebhookEndpoint.objects.create(
                    manufacturer=manufacturer,
                    created_by=user,
                    url=url,
                    events=chosen,
                    secret=secret,
                    form_key=form_key,
                )
        except IntegrityError as exc:
            if form_key is not None:
                raise WebhookError("form_reused") from exc
            raise
        audit_record(
            action="webhook.endpoint_created",
            actor=user,
            obj=endpoint,
            manufacturer=manufacturer,
            request=request,
            details={"url": url, "events": chosen},
        )
    return NewEndpoint(endpoint=endpoint, secret=secret)


def _own_endpoint(*, endpoint_id: int, user: User) -> WebhookEndpoint:
    """The user's manufacturer's endpoint, locked (staff: any); ``WebhookError("not_found")``
    otherwise, ``"role_forbidden"`` for a role that may not ``webhooks.manage``."""
    role_require(user=user, action="webhooks.manage", error=WebhookError)
    endpoints = WebhookEndpoint.objects.select_for_update()
    if not user.is_staff:
        endpoints = endpoints.filter(manufacturer=user.manufacturer)
    endpoint = endpoints.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise WebhookError("not_found")
    return endpoint


def webhook_endpoint_delete(
    *, endpoint_id: int, user: User, request: HttpRequest | None = None
) -> None:
    """Remove an endpoint of the user's manufacturer with its messages and attempts."""
    with transaction.atomic():
        endpoint = _own_endpoint(endpoint_id=endpoint_id, user=user)
        audit_record(
            action="webhook.endpoint_deleted",
            actor=user,
            obj=endpoint,
            manufacturer=endpoint.manufacturer,
            request=request,
            details={"url": endpoint.url},
        )
        endpoint.delete()


def webhook_endpoint_enable(
    *, endpoint_id: int, user: User, request: HttpRequest | None = None
) -> WebhookEndpoint:
    """Turn a disabled endpoint back on (its failure clock starts again)."""
    with transaction.atomic():
        endpoint = _own_endpoint(endpoint_id=endpoint_id, user=user)
        target_check(endpoint.url)
        endpoint.is_active = True
        endpoint.disabled_at = None
        endpoint.failing_since = None
        endpoint.save(update_fields=["is_active", "disabled_at", "failing_since"])
        audit_record(
            action="webhook.endpoint_enabled",
            actor=user,
            obj=endpoint,
            manufacturer=endpoint.manufacturer,
            request=request,
        )
    return endpoint


def webhook_emit(
    *,
    manufacturer_id: int,
    event_type: str,
    data: dict[str, Any] | Callable[[], dict[str, Any]],
) -> list[int]:
    """Record ``event_type`` for every active endpoint of the manufacturer that chose it, and
    send each after the current transaction commits. Returns the new messages' ids.

    ``data`` may be a function that makes it: it is called only when some endpoint wants the
    event, so a manufacturer without webhooks pays one indexed query per event, nothing more.

    Called inside the transaction of the change reported: a rollback sends nothing. The rows
    are the outbox: a message the broker never got is sent by ``webhook_sweep``.
    """
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(
            manufacturer_id=manufacturer_id, is_active=True
        )
        .only("pk", "events")
        .order_by()
        if event_type in endpoint.events
    ]
    if not endpoints:
        return []
    now = timezone.now()
    payload = {
        "type": event_type,
        "timestamp": now.isoformat(),
        "data": data() if callable(data) else data,
    }
    messages = WebhookMessage.objects.bulk_create(
        WebhookMessage(
            endpoint=endpoint,
            msg_id=f"msg_{uuid.uuid4().hex}",
            event_type=event_type,
            payload=payload,
            created_at=now,
            next_attempt_at=now,
        )
        for endpoint in endpoints
    )
    ids = [message.pk for message in messages]
    transaction.on_commit(partial(_enqueue_all, ids), robust=True)
    return ids


def _enqueue(message_id: int, countdown: float = 0) -> bool:
    from webhooks.tasks import webhook_send

    try:
        webhook_send.apply_async((message_id,), countdown=countdown)
    except BrokerError:
        logger.warning("Broker unreachable; webhook message %s left for the sweep", message_id)
        return False
    return True


def _enqueue_all(message_ids: list[int]) -> None:
    for message_id in message_ids:
        _enqueue(message_id)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _post(endpoint: WebhookEndpoint, message: WebhookMessage) -> Outcome:
    body = json.dumps(message.payload, separators=(",", ":"), ensure_ascii=False)
    sent_at = timezone.now()
    headers = {
        "content-type": "application/json",
        "user-agent": "RefurbPortal-Webhooks/1",
        "webhook-id": message.msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(message.msg_id, sent_at, body),
    }
    started = time.monotonic()
    try:
        # Checked again now: the name may point elsewhere than when the endpoint was added.
        target_check(endpoint.url)
        response = httpx.post(
            endpoint.url,
            content=body.encode(),
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except WebhookError as exc:
        return Outcome(None, str(exc.message)[:300], 0)
    except httpx.HTTPError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:300], elapsed)
    elapsed = int((time.monotonic() - started) * 1000)
    return Outcome(response.status_code, "", elapsed)


def webhook_attempt(*, message_id: int, manual: bool = False) -> WebhookAttempt | None:
    """Try to send one message now and record the try; None when there is nothing to try (it
    already succeeded, or another worker holds it, or its endpoint is disabled).

    A failure sets the next try ``retry_delay`` later while within ``WEBHOOK_RETRY_FOR`` of the
    event (the task schedules it), else gives up; an endpoint failing for that long is disabled
    and its owners emailed. ``manual`` (the portal's "Send again") tries even a message given
    up on or already delivered, once.
    """
    now = timezone.now()
    with transaction.atomic():
        message = (
            WebhookMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=message_id)
            .first()
        )
        if message is None or (message.status == Status.SUCCEEDED and not manual):
            return None
        if not manual and (message.status != Status.PENDING or not message.endpoint.is_active):
            return None
        if not manual and message.next_attempt_at and message.next_attempt_at > now + EARLY:
            return None  # a copy of the task delivered before its time (broker redelivery)
        message.attempt_count = F("attempt_count") + 1
        if message.status == Status.PENDING:
            # Held off while this try runs, so the sweep does not send it at the same time.
            message.next_attempt_at = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 3)
        message.save(update_fields=["attempt_count", "next_attempt_at"])
        message.refresh_from_db(fields=["attempt_count"])
        endpoint = message.endpoint
    outcome = _post(endpoint, message)
    return _record(message=message, outcome=outcome, manual=manual)


def _record(*, message: WebhookMessage, outcome: Outcome, manual: bool) -> WebhookAttempt:
    now = timezone.now()
    with transaction.atomic():
        attempt = WebhookAttempt.objects.create(
            message=message,
            attempted_at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            succeeded=outcome.succeeded,
            manual=manual,
        )
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=message.endpoint_id)
        if outcome.succeeded:
            WebhookMessage.objects.filter(pk=message.pk).update(
                status=Status.SUCCEEDED, succeeded_at=now, next_attempt_at=None
            )
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                endpoint.save(update_fields=["failing_since"])
            return attempt
        if message.status == Status.PENDING:
            retry_until = message.created_at + settings.WEBHOOK_RETRY_FOR
            next_at = now + retry_delay(message.attempt_count)
            if next_at <= retry_until:
                WebhookMessage.objects.filter(pk=message.pk).update(next_attempt_at=next_at)
                transaction.on_commit(
                    partial(_enqueue, message.pk, (next_at - now).total_seconds()), robust=True
                )
            else:
                WebhookMessage.objects.filter(pk=message.pk).update(
                    status=Status.FAILED, next_attempt_at=None
                )
        if endpoint.failing_since is None:
            endpoint.failing_since = now
            endpoint.save(update_fields=["failing_since"])
        elif endpoint.is_active and now - endpoint.failing_since >= settings.WEBHOOK_RETRY_FOR:
            _disable(endpoint, now=now)
    return attempt


def _disable(endpoint: WebhookEndpoint, *, now: Any) -> None:
    endpoint.is_active = False
    endpoint.disabled_at = now
    endpoint.save(update_fields=["is_active", "disabled_at"])
    WebhookMessage.objects.filter(endpoint=endpoint, status=Status.PENDING).update(
        status=Status.FAILED, next_attempt_at=None
    )
    audit_record(
        action="webhook.endpoint_disabled",
        obj=endpoint,
        manufacturer=endpoint.manufacturer,
        details={"url": endpoint.url, "failing_since": str(endpoint.failing_since)},
    )
    transaction.on_commit(partial(_email_disabled, endpoint.pk), robust=True)


def _email_disabled(endpoint_id: int) -> None:
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    recipients = manufacturer_recipients(manufacturer_id=endpoint.manufacturer_id)
    subject = _("Webhook endpoint disabled: %(url)s") % {"url": endpoint.url}
    body = _(
        "Every event sent to %(url)s has failed for a day, so it is disabled and no more events "
        "are sent to it. Fix the receiver, then enable it again under Webhooks in the portal."
    ) % {"url": endpoint.url}
    mail = [EmailMessage(subject=subject, body=body, to=[address]) for address in recipients]
    if mail:
        mailers.default.send_messages(mail)


def webhook_resend(
    *, message_id: int, user: User, request: HttpRequest | None = None
) -> WebhookAttempt | None:
    """The portal's "Send again": one more try now, recorded like the others and audited.
    Administrators only (``webhooks.manage``: ``WebhookError("role_forbidden")``)."""
    role_require(user=user, action="webhooks.manage", error=WebhookError)
    message = (
        WebhookMessage.objects.select_related("endpoint")
        .filter(pk=message_id)
        .filter(**({} if user.is_staff else {"endpoint__manufacturer_id": user.manufacturer_id}))
        .first()
    )
    if message is None:
        raise WebhookError("not_found")
    if not message.endpoint.is_active:
        raise WebhookError("endpoint_disabled")
    audit_record(
        action="webhook.resent",
        actor=user,
        obj=message.endpoint,
        manufacturer=message.endpoint.manufacturer,
        request=request,
        details={"msg_id": message.msg_id, "event": message.event_type},
    )
    return webhook_attempt(message_id=message.pk, manual=True)


def webhook_sweep(*, limit: int = 500) -> list[int]:
    """Send the pending messages whose next try is over a minute late (the broker lost them, or
    was down when they were made); returns their ids."""
    late = timezone.now() - timedelta(minutes=1)
    ids = list(
        WebhookMessage.objects.filter(
            status=Status.PENDING, next_attempt_at__lt=late, endpoint__is_active=True
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    _enqueue_all(ids)
    return ids
