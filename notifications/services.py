"""Writes for notifications: notices and emails made from audit events, their sending, read
marks and each user's choices.

``notify_audit_event`` runs inside the transaction that records the event (a post_save of
``AuditEvent``): it writes the in-portal ``Notice`` rows and the ``EmailNotice`` outbox rows in a
savepoint, so a failure there is logged and never undoes the take or the job that caused it.
After the commit each email is sent by a Celery task; a mail server that refuses or is down
leaves the row PENDING with its next try ``email_retry_delay`` later (``NOTIFICATION_EMAIL_MAX_
ATTEMPTS`` tries, then FAILED and logged). The rows are the outbox: ``email_notice_sweep``
re-sends any the broker never got. The notice in the portal does not depend on the email.
"""

from __future__ import annotations

import logging
import smtplib
import zoneinfo
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import DatabaseError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone, translation
from kombu.exceptions import OperationalError as BrokerError

from accounts.models import User
from accounts.time_zones import effective_time_zone
from audit.models import AuditEvent
from audit.services import audit_record
from notifications.events import Telling, telling_for
from notifications.kinds import CHANNELS, KINDS, kinds_for, notice_details, notice_text
from notifications.models import EmailNotice, Notice, NotificationPreference
from notifications.selectors import notification_choices

logger = logging.getLogger(__name__)

Status = EmailNotice.Status
# A task may run this much before the email's next try is due (clock skew, countdown rounding).
EARLY = timedelta(seconds=2)


def email_retry_delay(attempt: int) -> timedelta:
    """The pause after failed try number ``attempt`` (1-based): 30 s doubling, at most 1 h
    (30 s, 1 min, 2 min, 4 min, 8 min, 16 min, 32 min, 1 h...)."""
    return timedelta(seconds=min(30 * 2 ** (attempt - 1), 60 * 60))


def _when(event: AuditEvent) -> datetime:
    # Set by the database on insert and read back; a fresh clock if a backend did not.
    return event.occurred_at if isinstance(event.occurred_at, datetime) else timezone.now()


def _emails(
    telling: Telling, event: AuditEvent, wanted: dict[int, dict[str, bool]]
) -> list[EmailNotice]:
    emails = [
        EmailNotice(
            kind=telling.kind,
            to_address=user.email,
            user=user,
            language=user.language or settings.LANGUAGE_CODE,
            time_zone=effective_time_zone(user),
            params=telling.params,
            link=link,
            audit_event_id=event.pk,
            occurred_at=_when(event),
        )
        for user, link in telling.users
        if user.email and wanted[user.pk]["email"]
    ]
    company = telling.manufacturer
    if company is not None and company.notification_email not in {e.to_address for e in emails}:
        emails.append(
            EmailNotice(
                kind=telling.kind,
                to_address=company.notification_email,
                manufacturer=company,
                language=telling.manufacturer_language or settings.LANGUAGE_CODE,
                time_zone=effective_time_zone(None, company),
                params=telling.params,
                link=telling.manufacturer_link,
                audit_event_id=event.pk,
                occurred_at=_when(event),
            )
        )
    return emails


def notify_audit_event(event: AuditEvent) -> list[int]:
    """Write the notices and emails ``event`` calls for (``notifications.events``), each
    recipient's choices honoured; returns the new emails' ids, sent after the commit.

    Called inside the transaction of the change reported: a rollback tells no one. Any database
    error here is logged and rolled back to a savepoint; the change itself goes on.
    """
    try:
        with transaction.atomic():
            telling = telling_for(event)
            if telling is None:
                return []
            wanted = notification_choices(
                user_ids=[user.pk for user, _link in telling.users], kind=telling.kind
            )
            Notice.objects.bulk_create(
                Notice(
                    user=user,
                    kind=telling.kind,
                    params=telling.params,
                    link=link,
                    audit_event_id=event.pk,
                    created_at=_when(event),
                )
                for user, link in telling.users
                if wanted[user.pk]["portal"]
            )
            emails = EmailNotice.objects.bulk_create(_emails(telling, event, wanted))
    except DatabaseError:
        logger.exception("Notices of audit event %s not written", event.pk)
        return []
    ids = [email.pk for email in emails]
    if ids:
        transaction.on_commit(partial(_enqueue_all, ids), robust=True)
    return ids


def _enqueue(email_id: int, countdown: float = 0) -> bool:
    from notifications.tasks import notification_email_send

    try:
        notification_email_send.apply_async((email_id,), countdown=countdown)
    except BrokerError:
        logger.warning("Broker unreachable; notification email %s left for the sweep", email_id)
        return False
    return True


def _enqueue_all(email_ids: list[int]) -> None:
    for email_id in email_ids:
        _enqueue(email_id)


def email_notice_render(email: EmailNotice) -> EmailMultiAlternatives:
    """The email of ``email`` in its recipient's language and time zone: plain text and HTML
    from ``notifications/email/notice.txt`` and ``.html``."""
    kind = KINDS[email.kind]
    with (
        translation.override(email.language),
        timezone.override(zoneinfo.ZoneInfo(email.time_zone)),
    ):
        title = notice_text(email.kind, kind.title, email.params)
        context = {
            "title": title,
            "body": notice_text(email.kind, kind.body, email.params),
            "details": notice_details(email.kind, email.params),
            # A work order's text: the reply or the description, as written.
            "message": str(email.params.get("message") or ""),
            "occurred_at": email.occurred_at,
            "link": str(settings.PORTAL_BASE_URL).rstrip("/") + email.link,
            "for_company": email.user_id is None,
        }
        message = EmailMultiAlternatives(
            subject=title,
            body=render_to_string("notifications/email/notice.txt", context),
            to=[email.to_address],
        )
        message.attach_alternative(
            render_to_string("notifications/email/notice.html", context), "text/html"
        )
    return message


def _claim(email_id: int) -> EmailNotice | None:
    now = timezone.now()
    with transaction.atomic():
        email = (
            EmailNotice.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, status=Status.PENDING, next_attempt_at__lte=now + EARLY)
            .first()
        )
        if email is None:
            return None
        email.attempt_count = F("attempt_count") + 1
        email.save(update_fields=["attempt_count"])
        email.refresh_from_db(fields=["attempt_count"])
        # Should the worker die while sending, the sweep finds the row once this is past.
        email.next_attempt_at = now + email_retry_delay(email.attempt_count)
        email.save(update_fields=["next_attempt_at"])
    return email


def email_notice_send(*, email_id: int) -> bool:
    """Send one outbox email now (no transaction held while the mail server answers); True
    when sent. None is due (already sent, given up, held by another worker, not yet time):
    False. A refused or failed send is logged and tried again ``email_retry_delay`` later, up
    to ``NOTIFICATION_EMAIL_MAX_ATTEMPTS`` tries, then marked FAILED."""
    email = _claim(email_id)
    if email is None:
        return False
    try:
        mailers.default.send_messages([email_notice_render(email)])
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
        give_up = email.attempt_count >= settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS
        EmailNotice.objects.filter(pk=email.pk).update(
            last_error=error, status=Status.FAILED if give_up else Status.PENDING
        )
        if give_up:
            logger.error(
                "Notification email %s given up after %s tries: %s",
                email.pk,
                email.attempt_count,
                error,
            )
        else:
            logger.warning(
                "Notification email %s not sent (try %s): %s", email.pk, email.attempt_count, error
            )
            delay = email_retry_delay(email.attempt_count).total_seconds()
            _enqueue(email.pk, countdown=delay)
        return False
    EmailNotice.objects.filter(pk=email.pk).update(
        status=Status.SENT, sent_at=timezone.now(), last_error=""
    )
    return True


def email_notice_sweep(*, limit: int = 500) -> list[int]:
    """Send the pending emails whose next try is over a minute late (the broker lost them, or
    was down when they were made); returns their ids."""
    late = timezone.now() - timedelta(minutes=1)
    ids = list(
        EmailNotice.objects.filter(status=Status.PENDING, next_attempt_at__lt=late)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    _enqueue_all(ids)
    return ids


def notice_mark_read(*, user: User, notice_id: int) -> Notice | None:
    """Mark the user's own notice read (already read: unchanged); None when it is not theirs."""
    notice = Notice.objects.filter(user=user, pk=notice_id).first()
    if notice is not None and notice.read_at is None:
        notice.read_at = timezone.now()
        notice.save(update_fields=["read_at"])
    return notice


def notices_mark_all_read(*, user: User) -> int:
    """Mark every unread notice of the user read; returns how many."""
    return Notice.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def notification_preferences_set(
    *,
    user: User,
    choices: dict[str, dict[str, bool]],
    language: str | None = None,
    request: HttpRequest | None = None,
) -> None:
    """Store ``{kind: {"email": bool, "portal": bool}}`` for the kinds the user's side may
    receive (``kinds_for``; others are ignored) and the language of their emails (one of
    ``LANGUAGES``, else unchanged). Audited as ``notifications.preferences_changed``."""
    allowed = set(kinds_for(is_staff=user.is_staff))
    rows = {
        kind: {channel: bool(choice.get(channel, True)) for channel in CHANNELS}
        for kind, choice in choices.items()
        if kind in allowed
    }
    with transaction.atomic():
        for kind, choice in rows.items():
            NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults=choice)
        if language in dict(settings.LANGUAGES) and language != user.language:
            User.objects.filter(pk=user.pk).update(language=language)
            user.language = language
        audit_record(
            action="notifications.preferences_changed",
            actor=user,
            obj=user,
            request=request,
            details={"choices": rows, "language": user.language},
        )
