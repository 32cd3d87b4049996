# ruff: noqa: RUF001 - the Chinese texts expected use full-width punctuation
"""Notices and emails: who is told what, each user's choices, a broken mail server, tenancy."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from pytest_django.fixtures import Settings

from accounts.models import Manufacturer, User
from notifications import kinds
from notifications.models import EmailNotice, Notice, NotificationPreference
from notifications.services import email_notice_send, email_notice_sweep
from orders.models import PurchaseOrder
from tests.conftest import delivered_license_order
from tests.factories import UserFactory, WorkOrderFactory
from tests.notifications.conftest import (
    BROKEN_MAILERS,
    WORKING_MAILERS,
    BrokenBackend,
    Capture,
    make_fail,
    make_ready,
    take,
)
from workorders.models import WorkOrder
from workorders.services import work_order_reply, work_order_tool_attach
from workorders.transitions import Side

pytestmark = pytest.mark.django_db


def notice_mails(outbox: list[EmailMessage]) -> list[EmailMultiAlternatives]:
    """The emails of this app (plain text and HTML), the only ones sent."""
    return [m for m in outbox if isinstance(m, EmailMultiAlternatives)]


def addresses(outbox: list[EmailMessage]) -> list[str]:
    return sorted(address for m in notice_mails(outbox) for address in m.to)


def html_of(message: EmailMultiAlternatives) -> str:
    (content, mimetype), *_ = message.alternatives
    assert mimetype == "text/html"
    return str(content)


def test_a_ready_file_tells_its_taker_by_email_and_in_the_portal(
    seed_order: PurchaseOrder,
    acme_user: User,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    delivery = take(seed_order, acme_user, 7)
    with django_capture_on_commit_callbacks(execute=True):
        make_ready(delivery)
    [message] = notice_mails(mailoutbox)
    assert message.to == ["acme@example.com"]
    assert message.subject == (
        f"Order {seed_order.number}: the token file of new delivery {delivery.number} is ready"
    )
    assert f"new delivery {delivery.number} on order {seed_order.number} (7 tokens)" in (
        message.body
    )
    assert "UTC+0000" in message.body  # neither the user nor the company chose a zone
    assert "/purchase/" in message.body
    assert message.subject in html_of(message)
    [notice] = Notice.objects.filter(user=acme_user)
    assert notice.kind == kinds.FILE_READY
    assert notice.read_at is None
    assert notice.title == message.subject
    assert EmailNotice.objects.get().status == EmailNotice.Status.SENT


def test_a_failed_file_tells_its_taker_the_company_address_and_staff(
    seed_order: PurchaseOrder,
    acme: Manufacturer,
    acme_user: User,
    staff_user: User,
    settings: Settings,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    acme.notification_email = "factory@acme.example"
    acme.save()
    UserFactory(username="retired-staff", manufacturer=None, is_staff=True, is_active=False)
    delivery = take(seed_order, acme_user)
    with django_capture_on_commit_callbacks(execute=True):
        make_fail(delivery, settings)
    assert addresses(mailoutbox) == [
        "acme@example.com",
        "factory@acme.example",
        "staff@example.com",
    ]
    assert {m.subject for m in notice_mails(mailoutbox)} == {
        f"Order {seed_order.number}: the token file of new delivery {delivery.number} failed"
    }
    company_mail = next(m for m in notice_mails(mailoutbox) if m.to == ["factory@acme.example"])
    assert "company's notification address" in company_mail.body
    assert set(Notice.objects.values_list("user__username", "kind")) == {
        ("acme", kinds.FILE_FAILED),
        ("staff", kinds.FILE_FAILED),
    }
    staff_notice = Notice.objects.get(user=staff_user)
    assert staff_notice.link == reverse("admin:tokens_tokenfile_change", args=[delivery.file.pk])


def test_a_ready_file_does_not_tell_staff(
    seed_order: PurchaseOrder,
    acme_user: User,
    staff_user: User,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    delivery = take(seed_order, acme_user)
    with django_capture_on_commit_callbacks(execute=True):
        make_ready(delivery)
    assert addresses(mailoutbox) == ["acme@example.com"]
    assert not Notice.objects.filter(user=staff_user).exists()


def test_a_staff_reply_and_the_tool_tell_the_submitter_only(
    acme: Manufacturer,
    acme_user: User,
    staff_user: User,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    UserFactory(username="colleague", manufacturer=acme)
    work_order = WorkOrderFactory(
        manufacturer=acme, submitted_by=acme_user, type=WorkOrder.Type.TOOL
    )
    with django_capture_on_commit_callbacks(execute=True):
        work_order_reply(
            work_order_id=work_order.pk, user=staff_user, side=Side.STAFF, body="On its way."
        )
        work_order_tool_attach(
            work_order_id=work_order.pk, user=staff_user, tool_link="https://example.com/t.zip"
        )
    mails = notice_mails(mailoutbox)
    assert [(m.to, m.subject) for m in mails] == [
        (["acme@example.com"], f"Work order {work_order.number}: staff replied"),
        (["acme@example.com"], f"Work order {work_order.number}: the refurbishment tool is ready"),
    ]
    assert list(Notice.objects.order_by("pk").values_list("user__username", "kind")) == [
        ("acme", kinds.WORK_ORDER_REPLIED),
        ("acme", kinds.WORK_ORDER_TOOL),
    ]
    assert Notice.objects.get(kind=kinds.WORK_ORDER_TOOL).link == reverse(
        "workorders:detail", args=[work_order.pk]
    )


def test_the_manufacturers_own_reply_tells_staff_not_the_manufacturer(
    acme: Manufacturer,
    acme_user: User,
    staff_user: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme, submitted_by=acme_user)
    with django_capture_on_commit_callbacks(execute=True):
        work_order_reply(
            work_order_id=work_order.pk, user=acme_user, side=Side.MANUFACTURER, body="More."
        )
    assert list(Notice.objects.values_list("user__username", "kind")) == [
        (staff_user.username, kinds.WORK_ORDER_ANSWERED)
    ]
    assert list(EmailNotice.objects.values_list("to_address", flat=True)) == [staff_user.email]


@pytest.mark.parametrize(
    ("email", "portal"), [(False, True), (True, False), (False, False), (True, True)]
)
def test_each_channel_of_each_kind_can_be_switched_off(
    email: bool,
    portal: bool,
    seed_order: PurchaseOrder,
    acme_user: User,
    settings: Settings,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    NotificationPreference.objects.create(
        user=acme_user, kind=kinds.FILE_READY, email=email, portal=portal
    )
    ready_delivery, failed_delivery = take(seed_order, acme_user), take(seed_order, acme_user)
    with django_capture_on_commit_callbacks(execute=True):
        make_ready(ready_delivery)
        make_fail(failed_delivery, settings)
    # The choice for ready files says nothing about failed ones: those are still told.
    told_by_email = [m.subject.split()[-1] for m in notice_mails(mailoutbox)]
    assert told_by_email == (["ready"] if email else []) + ["failed"]
    told_here = sorted(Notice.objects.values_list("kind", flat=True))
    assert told_here == sorted([kinds.FILE_FAILED] + ([kinds.FILE_READY] if portal else []))


def test_email_in_the_recipients_language_and_time_zone(
    seed_order: PurchaseOrder,
    acme_user: User,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    acme_user.language = "zh-hans"
    acme_user.time_zone = "Asia/Shanghai"
    acme_user.save()
    delivery = take(seed_order, acme_user)
    with django_capture_on_commit_callbacks(execute=True):
        make_ready(delivery)
    [message] = notice_mails(mailoutbox)
    with translation.override("zh-hans"):
        expected = kinds.notice_text(
            kinds.FILE_READY,
            kinds.KINDS[kinds.FILE_READY].title,
            {"order": seed_order.number, "delivery": delivery.number},
        )
    assert message.subject == expected
    assert (
        message.subject == f"订单 {seed_order.number}：新交付 {delivery.number} 的 Token 文件已就绪"
    )
    sent_at = timezone.localtime(EmailNotice.objects.get().occurred_at)
    shanghai = sent_at.astimezone(timezone.get_fixed_timezone(8 * 60))
    assert f"{shanghai:%H:%M} UTC+0800" in message.body
    assert 'lang="zh-hans"' in html_of(message)


def test_a_broken_mail_server_loses_no_notice_and_breaks_nothing(
    seed_order: PurchaseOrder,
    acme_user: User,
    settings: Settings,
    mailoutbox: list[EmailMessage],
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    settings.MAILERS = BROKEN_MAILERS
    settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS = 3
    BrokenBackend.attempts = 0
    delivery = take(seed_order, acme_user)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        make_ready(delivery)  # the job commits its READY file whatever the mail server does
    assert BrokenBackend.attempts == 1
    assert Notice.objects.filter(user=acme_user).count() == 1  # the portal notice is there
    email = EmailNotice.objects.get()
    assert email.status == EmailNotice.Status.PENDING
    assert email.attempt_count == 1
    assert "SMTPServerDisconnected" in email.last_error
    assert email.next_attempt_at > timezone.now() + timedelta(seconds=20)  # backed off
    assert any("not sent (try 1)" in r.getMessage() for r in caplog.records)

    # Not yet due: a copy of the task that comes early sends nothing.
    assert email_notice_send(email_id=email.pk) is False
    assert BrokenBackend.attempts == 1

    # Still down at the next two tries: given up, and logged as an error.
    for _ in range(2):
        EmailNotice.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
        assert email_notice_send(email_id=email.pk) is False
    email.refresh_from_db()
    assert (email.status, email.attempt_count) == (EmailNotice.Status.FAILED, 3)
    assert any(r.levelno == logging.ERROR and "given up" in r.getMessage() for r in caplog.records)
    assert notice_mails(mailoutbox) == []


def test_the_sweep_sends_an_email_once_the_mail_server_is_back(
    seed_order: PurchaseOrder,
    acme_user: User,
    settings: Settings,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    settings.MAILERS = BROKEN_MAILERS
    delivery = take(seed_order, acme_user)
    with django_capture_on_commit_callbacks(execute=True):
        make_ready(delivery)
    email = EmailNotice.objects.get()
    assert email_notice_sweep() == []  # its next try is not late yet
    settings.MAILERS = WORKING_MAILERS
    EmailNotice.objects.filter(pk=email.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    assert email_notice_sweep() == [email.pk]
    email.refresh_from_db()
    assert email.status == EmailNotice.Status.SENT
    assert email.attempt_count == 2
    assert addresses(mailoutbox) == ["acme@example.com"]
    assert email_notice_send(email_id=email.pk) is False  # sent once only


def test_a_manufacturer_is_never_told_of_anothers_file(
    seed_order: PurchaseOrder,
    acme_user: User,
    globex: Manufacturer,
    globex_user: User,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    globex.notification_email = "factory@globex.example"
    globex.save()
    delivery = take(seed_order, acme_user)
    with django_capture_on_commit_callbacks(execute=True):
        make_ready(delivery)
    assert addresses(mailoutbox) == ["acme@example.com"]
    assert not Notice.objects.filter(user=globex_user).exists()
    assert not EmailNotice.objects.filter(manufacturer=globex).exists()


def test_the_notifications_page_shows_only_ones_own_and_marks_them_read(
    seed_order: PurchaseOrder,
    acme_user: User,
    acme_client: Client,
    globex_client: Client,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    delivery = take(seed_order, acme_user)
    with django_capture_on_commit_callbacks(execute=True):
        make_ready(delivery)
    notice = Notice.objects.get()
    title = f"Order {seed_order.number}: the token file of new delivery {delivery.number} is ready"
    page = acme_client.get(reverse("notifications:list")).content.decode()
    assert title in page
    assert "Notifications: 1 unread" in page  # the bell in the header
    assert title not in globex_client.get(reverse("notifications:list")).content.decode()

    read_url = reverse("notifications:read", args=[notice.pk])
    assert globex_client.post(read_url).status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None
    opened = acme_client.post(read_url, {"open": "1"})
    assert opened.status_code == 302
    assert opened["Location"] == notice.link
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert "unread" not in acme_client.get(reverse("notifications:list")).content.decode()


def test_mark_all_read_marks_only_ones_own(
    acme_user: User, globex_user: User, acme_client: Client
) -> None:
    for user in (acme_user, acme_user, globex_user):
        Notice.objects.create(
            user=user,
            kind=kinds.WORK_ORDER_REPLIED,
            params={"number": "WO-1"},
            audit_event_id=uuid.uuid4().int % 10**9,
        )
    response = acme_client.post(reverse("notifications:read_all"))
    assert response.status_code == 302
    assert not Notice.objects.filter(user=acme_user, read_at__isnull=True).exists()
    assert Notice.objects.filter(user=globex_user, read_at__isnull=True).count() == 1


def test_the_next_page_of_notifications_swaps_in_place(
    acme_user: User, acme_client: Client
) -> None:
    for number in range(30):
        Notice.objects.create(
            user=acme_user,
            kind=kinds.WORK_ORDER_REPLIED,
            params={"number": f"WO-{number:03}"},
            audit_event_id=number,
        )
    url = reverse("notifications:list") + "?page=2"
    whole = acme_client.get(url).content.decode()
    assert "<html" in whole
    assert "Work order WO-004: staff replied" in whole  # 30 newest first: page 2 holds 4..0
    part = acme_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in part
    assert part.lstrip().startswith('<section id="results"')
    assert "Work order WO-004: staff replied" in part
    assert "Work order WO-029: staff replied" not in part


def test_notices_of_two_orders_first_new_deliveries_name_their_orders(
    seed_order: PurchaseOrder,
    acme: Manufacturer,
    acme_user: User,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    """Every order's first new delivery is N001: the order number tells the notices apart."""
    other = delivered_license_order(acme, number="LIC-2026-0777")
    for order in (seed_order, other):
        delivery = take(order, acme_user, 1)
        with django_capture_on_commit_callbacks(execute=True):
            make_ready(delivery)
    titles = sorted(notice.title for notice in Notice.objects.filter(user=acme_user))
    assert titles == sorted(
        f"Order {number}: the token file of new delivery N001 is ready"
        for number in (seed_order.number, other.number)
    )
    assert sorted(m.subject for m in notice_mails(mailoutbox)) == titles
    assert any("N001 on order LIC-2026-0777 (1 token)" in m.body for m in notice_mails(mailoutbox))


@pytest.mark.parametrize(
    ("language", "title", "body"),
    [
        (
            "en",
            "Order LIC-2026-0042: the token file of original delivery O002 is ready",
            "The token file of original delivery O002 on order LIC-2026-0042 (1 token) is ready "
            "to download.",
        ),
        (
            "zh-hans",
            "订单 LIC-2026-0042：原始交付 O002 的 Token 文件已就绪",
            "订单 LIC-2026-0042 上原始交付 O002 的 Token 文件（1 个 Token）已可下载。",
        ),
    ],
)
def test_an_original_deliverys_file_is_called_one_with_its_order(
    language: str, title: str, body: str
) -> None:
    kind = kinds.KINDS[kinds.FILE_READY]
    params: dict[str, object] = {"order": "LIC-2026-0042", "delivery": "O002", "quantity": 1}
    with translation.override(language):
        assert kinds.notice_text(kinds.FILE_READY, kind.title, params) == title
        assert kinds.notice_text(kinds.FILE_READY, kind.body, params) == body
