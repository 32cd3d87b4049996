# ruff: noqa: RUF001 - the Chinese sentences expected use full-width punctuation
"""Every audit action reads as a sentence (audit.sentences), in English and Chinese, with order,
delivery and work order numbers instead of ids, links where the reader may open them, and the
rows it names read for a whole page at once."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Manufacturer, User
from audit.actions import ACTION_LABELS
from audit.models import AuditEvent
from audit.sentences import REFUSAL_REASONS, SENTENCES, Viewer, sentences_render
from audit.services import audit_record
from deliveries.errors import DeliveryError
from deliveries.services import new_delivery_take
from orders.models import PurchaseOrder
from tests.conftest import delivered_license_order
from tests.factories import WorkOrderFactory
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Stand-ins in the expected sentences for the sample work order's number and user's name.
WO, USER = "<work order>", "<user>"


def test_every_action_has_a_sentence_and_every_sentence_an_action() -> None:
    assert set(SENTENCES) == set(ACTION_LABELS)


@pytest.mark.parametrize("action", sorted(SENTENCES))
def test_each_placeholder_has_a_slot_and_each_slot_a_placeholder(action: str) -> None:
    sentence = SENTENCES[action]
    assert set(PLACEHOLDER.findall(str(sentence.template))) == set(sentence.slots)


def test_a_take_can_be_refused_only_for_a_reason_the_activity_words() -> None:
    """Every refusal of deliveries.errors.DeliveryError but the void's has its words."""
    take_codes = {code for code in DeliveryError.messages if "void" not in code}
    assert take_codes == set(REFUSAL_REASONS)


class World:
    def __init__(self, acme: Manufacturer, acme_user: User, staff_user: User) -> None:
        self.acme, self.user, self.staff = acme, acme_user, staff_user
        self.order = delivered_license_order(acme, number="LIC-2026-0042")
        self.product = self.order.products.first()
        self.work_order = WorkOrderFactory(manufacturer=acme)


# For each action: (details, the object) as its writer records them (see the services).
Sample = Callable[[World], tuple[dict[str, Any], models.Model | None]]
ORDER_DETAILS = {"order": "LIC-2026-0042", "delivery": "N007"}
SAMPLES: dict[str, Sample] = {
    "auth.logged_in": lambda w: ({}, w.user),
    "auth.logged_out": lambda w: ({}, w.user),
    "auth.login_failed": lambda w: ({}, w.user),
    "auth.locked_out": lambda w: ({}, w.user),
    "auth.address_throttled": lambda w: ({"failures": 50, "window_seconds": 300}, None),
    "auth.session_expired": lambda w: ({"reason": "idle"}, w.user),
    "auth.sessions_ended": lambda w: ({"sessions": 2, "reason": "deactivated"}, w.user),
    "auth.two_factor_enrolled": lambda w: ({}, w.user),
    "auth.two_factor_verified": lambda w: ({"method": "authenticator"}, w.user),
    "auth.two_factor_failed": lambda w: ({"throttled": False}, w.user),
    "auth.recovery_codes_replaced": lambda w: ({}, w.user),
    "ratelimit.exceeded": lambda w: (
        {"limited": "delivery.take", "per": "user", "limit": 60, "window_seconds": 60},
        None,
    ),
    "admin.added": lambda w: ({"change": [{"added": {}}]}, w.order),
    "admin.changed": lambda w: (
        {"change": [{"changed": {"fields": ["Quantity ordered"]}}]},
        w.order,
    ),
    "admin.deleted": lambda w: ({}, w.order),
    "original_delivery.recorded": lambda w: (
        {"quantity": 600, "original_delivery_id": 1},
        w.order,
    ),
    "original_delivery.reversed": lambda w: (
        {
            "order": w.order.number,
            "original_delivery_id": 1,
            "quantity": 100,
            "delivered_before": 600,
            "delivered_after": 500,
            "reason": "Counted twice",
        },
        w.order,
    ),
    "delivery.taken": lambda w: (
        {
            **ORDER_DETAILS,
            "product_id": w.product.pk,
            "quantity": 25,
            "available_before": 600,
            "available_after": 575,
        },
        None,
    ),
    "delivery.refused": lambda w: (
        {
            "order_id": w.order.pk,
            "product_id": w.product.pk,
            "quantity": 9999,
            "reason": "quantity_exceeds_available",
        },
        None,
    ),
    "delivery.voided": lambda w: (
        {
            **ORDER_DETAILS,
            "quantity": 25,
            "available_before": 575,
            "available_after": 600,
            "reason": "Wrong product",
        },
        None,
    ),
    # An original delivery's file (O...), of one row: "original delivery", "1 row".
    "tokens.file_ready": lambda w: (
        {"order": "LIC-2026-0042", "delivery": "O002", "rows": 1, "attempt": 1},
        None,
    ),
    "tokens.file_failed": lambda w: ({**ORDER_DETAILS, "reason": "Disk full"}, None),
    "tokens.file_retried": lambda w: ({"previous_error": "Disk full"}, w.order),
    "tokens.downloaded": lambda w: (
        {**ORDER_DETAILS, "rows": 25, "channel": "portal", "format": "xlsx", "files": ["a"]},
        None,
    ),
    "tokens.workbooks_made": lambda w: ({**ORDER_DETAILS, "xlsx_sha256": []}, None),
    "tokens.file_archived": lambda w: ({**ORDER_DETAILS, "days": 30, "sha256": "0" * 64}, None),
    "tokens.looked_up": lambda w: (
        {"asked": 1, "found": 1, "uuids": ["a" * 20], "channel": "portal"},
        None,
    ),
    "tokens.revocation_list": lambda w: (
        {"from": "2026-11-01", "to": "2026-11-30", "format": "json", "channel": "api"},
        None,
    ),
    "tokens.file_restored": lambda w: ({**ORDER_DETAILS, "sha256": "0" * 64}, None),
    "auth.password_reset_requested": lambda w: ({}, w.user),
    "auth.password_reset_done": lambda w: ({}, w.user),
    "accounts.time_zone_set": lambda w: (
        {"from": "", "to": "Asia/Shanghai", "detected": True},
        w.user,
    ),
    "notifications.preferences_changed": lambda w: ({"choices": [], "language": "en"}, w.user),
    "team.invited": lambda w: ({"email": "new@example.com", "role": "viewer"}, None),
    "team.invitation_withdrawn": lambda w: ({"email": "new@example.com"}, None),
    "team.invitation_accepted": lambda w: (
        {"email": "new@example.com", "role": "planner"},
        w.user,
    ),
    "team.role_changed": lambda w: (
        {"user": "acme-colleague", "from": "planner", "to": "viewer"},
        w.user,
    ),
    "team.deactivated": lambda w: ({"user": "acme-colleague"}, w.user),
    "team.two_factor_required": lambda w: ({}, w.acme),
    "team.company_settings_changed": lambda w: (
        {"time_zone": "Asia/Shanghai", "notification_address": True},
        w.acme,
    ),
    "team.two_factor_optional": lambda w: ({}, w.acme),
    "workorders.submitted": lambda w: (
        {"type": "tool", "order": w.order.number, "attachments": 1},
        w.work_order,
    ),
    "workorders.replied": lambda w: (
        {"message_id": 1, "by": "staff", "attachments": 0},
        w.work_order,
    ),
    "workorders.status_changed": lambda w: (
        {"from": "processing", "to": "awaiting_feedback", "by": "staff"},
        w.work_order,
    ),
    "workorders.transition_refused": lambda w: (
        {"work_order_id": w.work_order.pk, "from": "closed", "to": "processing"},
        None,
    ),
    "workorders.assigned": lambda w: (
        {"from": None, "to": w.staff.pk, "to_username": w.staff.username},
        w.work_order,
    ),
    "workorders.tool_attached": lambda w: (
        {"file": "tool.zip", "size": 10, "link": ""},
        w.work_order,
    ),
    "workorders.tool_downloaded": lambda w: (
        {"file": "", "link": "https://example.com/tool", "download_id": 1},
        w.work_order,
    ),
    "workorders.attachment_downloaded": lambda w: (
        {"attachment_id": 1, "file": "photo.png"},
        w.work_order,
    ),
    "api_key.created": lambda w: (
        {"prefix": "ab12cd", "scopes": ["download", "read"], "expires_at": None},
        None,
    ),
    "api_key.revoked": lambda w: ({"prefix": "ab12cd", "name": "ERP"}, None),
    "webhook.endpoint_created": lambda w: (
        {"url": "https://erp.example.com/hook", "events": ["delivery.taken"]},
        None,
    ),
    "webhook.endpoint_deleted": lambda w: ({"url": "https://erp.example.com/hook"}, None),
    "webhook.endpoint_disabled": lambda w: (
        {"url": "https://erp.example.com/hook", "failing_since": "2026-11-30"},
        None,
    ),
    "webhook.endpoint_enabled": lambda w: ({}, w.order),
    "webhook.resent": lambda w: ({"msg_id": "msg_1", "event": "delivery.taken"}, None),
}


@pytest.fixture
def world(acme: Manufacturer, acme_user: User, staff_user: User) -> World:
    return World(acme, acme_user, staff_user)


def test_the_samples_cover_every_action() -> None:
    assert set(SAMPLES) == set(SENTENCES)


def record(world: World, action: str) -> AuditEvent:
    details, obj = SAMPLES[action](world)
    return audit_record(
        action=action, actor=world.user, obj=obj, manufacturer=world.acme, details=details
    )


@pytest.mark.parametrize("action", sorted(SAMPLES))
def test_each_action_renders_a_whole_sentence_in_english_and_chinese(
    world: World, action: str
) -> None:
    event = record(world, action)
    texts = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for viewer in Viewer:
                rendered = sentences_render([event], viewer=viewer)[0]
                assert "%(" not in rendered.text
                assert action not in rendered.text  # words, not the code
                assert "{" not in rendered.text  # not a dict of details
                texts[language, viewer] = rendered.text
    assert texts["en", Viewer.PORTAL] != texts["zh-hans", Viewer.PORTAL]
    assert re.search(r"[\u4e00-\u9fff]", texts["zh-hans", Viewer.PORTAL])


def test_numbers_not_ids_and_links_the_portal_opens(world: World) -> None:
    taken = record(world, "delivery.taken")
    refused = record(world, "delivery.refused")
    submitted = record(world, "workorders.submitted")
    portal = sentences_render([taken, refused, submitted], viewer=Viewer.PORTAL)
    order_url = reverse("orders:order_detail", kwargs={"number": "LIC-2026-0042"})
    deliveries_url = reverse("deliveries:order_delivery_list", kwargs={"number": "LIC-2026-0042"})
    assert portal[0].text == (
        f"Took new delivery N007 on order LIC-2026-0042: 25 new tokens of {world.product.name} "
        "(available: 600, now 575)."
    )
    assert f'<a href="{order_url}">LIC-2026-0042</a>' in portal[0].html
    assert f'<a href="{deliveries_url}">new delivery N007</a>' in portal[0].html
    assert f"of {world.product.name} on order LIC-2026-0042 was refused: more new tokens" in (
        portal[1].text
    )
    detail = reverse("workorders:detail", kwargs={"pk": world.work_order.pk})
    assert f'<a href="{detail}">{world.work_order.number}</a>' in portal[2].html
    admin = sentences_render([submitted], viewer=Viewer.ADMIN)[0]
    change = reverse("admin:workorders_workorder_change", args=[world.work_order.pk])
    assert f'<a href="{change}">' in admin.html


def test_staff_read_statuses_in_their_words_and_the_manufacturer_in_its_own(
    world: World,
) -> None:
    event = record(world, "workorders.status_changed")
    portal = sentences_render([event], viewer=Viewer.PORTAL)[0].text
    staff = sentences_render([event], viewer=Viewer.ADMIN)[0].text
    assert portal.endswith("from Processing to Waiting for your feedback.")
    assert staff.endswith("from Processing to Waiting for the manufacturer's feedback.")


def test_values_are_escaped_in_the_html(world: World) -> None:
    event = audit_record(
        action="delivery.voided",
        actor=world.user,
        details={**ORDER_DETAILS, "quantity": 1, "reason": "<script>alert(1)</script>"},
    )
    html = sentences_render([event], viewer=Viewer.PORTAL)[0].html
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_another_companys_order_in_a_refusal_is_not_named(
    world: World, globex: Manufacturer
) -> None:
    """An order id typed into a request may be another company's: its number stays hidden."""
    theirs = delivered_license_order(globex, number="GLX-SECRET-1")
    event = audit_record(
        action="delivery.refused",
        actor=world.user,
        details={
            "order_id": theirs.pk,
            "product_id": theirs.products.first().pk,  # type: ignore[union-attr]
            "quantity": 1,
            "reason": "order_not_eligible",
        },
    )
    portal = sentences_render([event], viewer=Viewer.PORTAL)[0]
    assert "GLX-SECRET-1" not in portal.html
    assert theirs.products.first().name not in portal.text  # type: ignore[union-attr]
    assert "GLX-SECRET-1" in sentences_render([event], viewer=Viewer.ADMIN)[0].text


def test_a_page_costs_the_same_queries_however_many_events(
    world: World, django_assert_max_num_queries: Any
) -> None:
    def events(n: int) -> list[AuditEvent]:
        for action in ("delivery.refused", "workorders.assigned", "workorders.transition_refused"):
            for _ in range(n):
                record(world, action)
        return list(AuditEvent.objects.order_by("-id")[: 3 * n])

    few, many = events(1), events(20)
    with django_assert_max_num_queries(4):  # orders, products, users, work orders
        sentences_render(few, viewer=Viewer.PORTAL)
    with django_assert_max_num_queries(4):
        rendered = sentences_render(many, viewer=Viewer.PORTAL)
    assert all("LIC-2026-0042" in r.text for r in rendered if "refused: more" in r.text)


def test_a_manufacturer_reads_why_its_delivery_was_refused(
    acme_client: Client, acme_user: User, seed_order: PurchaseOrder
) -> None:
    product = seed_order.products.first()
    assert product is not None
    with pytest.raises(DeliveryError):
        new_delivery_take(
            order_id=seed_order.pk,
            product_id=product.pk,
            quantity=601,
            user=acme_user,
            idempotency_key=uuid.uuid4(),
        )
    html = acme_client.get(reverse("audit:activity")).content.decode()
    assert "New delivery refused" in html
    assert "more new tokens were asked for than are available" in html
    assert "LIC-2026-0001" in html
    assert '"reason"' not in html
    assert "quantity_exceeds_available" not in html


def test_the_sentences_follow_the_readers_language(world: World) -> None:
    event = record(world, "workorders.status_changed")
    with translation.override("zh-hans"):
        text = sentences_render([event], viewer=Viewer.PORTAL)[0].text
    assert str(WorkOrder.Status.AWAITING_FEEDBACK.label) not in text
    assert world.work_order.number in text


# Each wording fix: the sentence as an English and a Chinese reader reads it (the portal's).
WORDED: list[tuple[str, Callable[[World], dict[str, Any]], str, str]] = [
    (
        "tokens.file_ready",
        lambda w: {"order": "LIC-2026-0042", "delivery": "O002", "rows": 1},
        "The token file of original delivery O002 on order LIC-2026-0042 is ready: 1 row.",
        "订单 LIC-2026-0042 上原始交付 O002 的 Token 文件已就绪：1 行。",
    ),
    (
        "tokens.file_ready",
        lambda w: {**ORDER_DETAILS, "rows": 1500},
        "The token file of new delivery N007 on order LIC-2026-0042 is ready: 1,500 rows.",
        "订单 LIC-2026-0042 上新交付 N007 的 Token 文件已就绪：1500 行。",
    ),
    (
        "tokens.revocation_list",
        lambda w: {"from": "2026-11-01", "to": "2026-11-30", "format": "json"},
        "Downloaded the revocation list of 2026-11-01 to 2026-11-30 through the API.",
        "下载了 2026-11-01 至 2026-11-30 的吊销列表（通过 API）。",
    ),
    (
        "tokens.revocation_list",
        lambda w: {"from": "2026-11-01", "to": "2026-11-30", "format": "csv"},
        "Downloaded the revocation list of 2026-11-01 to 2026-11-30 as a CSV file.",
        "下载了 2026-11-01 至 2026-11-30 的吊销列表（CSV 文件）。",
    ),
    (
        "delivery.refused",
        lambda w: {"order_id": w.order.pk, "product_id": None, "quantity": 1, "reason": "busy"},
        "A new delivery of 1 new token on order LIC-2026-0042 was refused: the order was being "
        "changed by someone else at that moment.",
        "订单 LIC-2026-0042 上 1 个新 Token 的新交付被拒绝：当时其他人正在修改该订单。",
    ),
    (
        "api_key.created",
        lambda w: {"prefix": "ab12cd", "scopes": ["read", "take", "download", "work_orders"]},
        "Made the API key ab12cd (permissions: Read orders and deliveries, Take new deliveries, "
        "Download token files, Work orders).",
        "已创建 API 密钥 ab12cd（权限：读取订单和交付、领取新交付、下载 Token 文件、工单）。",
    ),
    (
        "webhook.endpoint_created",
        lambda w: {"url": "https://erp.example.com/hook", "events": ["delivery.taken"]},
        "Added the webhook endpoint https://erp.example.com/hook (events: A new delivery was "
        "taken).",
        "已添加 Webhook 端点 https://erp.example.com/hook（事件：领取了新交付）。",
    ),
    (
        "webhook.resent",
        lambda w: {"msg_id": "msg_1", "event": "delivery.taken"},
        "Sent the webhook message msg_1 again: A new delivery was taken.",
        "已重新发送 Webhook 消息 msg_1：领取了新交付。",
    ),
    (
        "tokens.looked_up",
        lambda w: {"asked": 3, "found": 1},
        "Looked up 3 token IDs; 1 was found.",
        "查询了 3 个 Token ID，找到 1 个。",
    ),
    (
        "workorders.replied",
        lambda w: {"attachments": 1},
        f"Replied on work order {WO} with 1 attachment.",
        f"已回复工单 {WO}，附件 1 个。",
    ),
    (
        "tokens.file_archived",
        lambda w: {**ORDER_DETAILS, "days": 1},
        "The token file of new delivery N007 on order LIC-2026-0042 was archived after 1 day "
        "unused; its tokens are kept and a download makes it again.",
        "订单 LIC-2026-0042 上新交付 N007 的 Token 文件在 1 天未使用后已归档；其 Token 仍保留，"
        "下载时将重新生成。",
    ),
    (
        "auth.sessions_ended",
        lambda w: {"sessions": 1},
        f"Ended 1 session of {USER}: the user was deactivated.",
        f"已结束 {USER} 的 1 个会话：该用户已停用。",
    ),
]


@pytest.mark.parametrize(("action", "details", "english", "chinese"), WORDED)
def test_sentences_say_what_the_codes_and_counts_mean(
    world: World,
    action: str,
    details: Callable[[World], dict[str, Any]],
    english: str,
    chinese: str,
) -> None:
    """Counts take their noun's form (1 row, 1,500 rows), codes read as words, an original
    delivery is called one, a missing product is left out, lists join as the language does."""
    obj = world.work_order if action.startswith("workorders.") else world.user
    event = audit_record(
        action=action, actor=world.user, obj=obj, manufacturer=world.acme, details=details(world)
    )
    wo, user = world.work_order.number, world.user.get_username()
    for language, expected in (("en", english), ("zh-hans", chinese)):
        with translation.override(language):
            text = sentences_render([event], viewer=Viewer.PORTAL)[0].text
        assert text == expected.replace(WO, wo).replace(USER, user)
