"""The bell, the Notifications page and the Settings page's choices, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from notifications import kinds
from notifications.models import Notice, NotificationPreference
from orders.models import PurchaseOrder
from tests.browser.conftest import DESKTOP, PHONE, check_accessibility, log_in
from tests.tokens.conftest import file_of, take
from tokens.generation import token_file_generate

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]

SEED = "LIC-2026-0001"
TEXTS = {
    "en": {
        "bell": "Notifications: 1 unread",
        "title": "Order LIC-2026-0001: the token file of new delivery {} is ready",
        "mark": "Mark read",
        "settings": "Settings",
        "kind": "A token file is ready",
        "email": "By email",
        "save": "Save settings",
        "saved": "Your settings are saved.",
    },
    "zh-hans": {
        "bell": "通知\uff1a1 条未读",
        "title": "订单 LIC-2026-0001\uff1a新交付 {} 的 Token 文件已就绪",
        "mark": "标为已读",
        "settings": "设置",
        "kind": "Token 文件已就绪",
        "email": "通过邮件",
        "save": "保存设置",
        "saved": "您的设置已保存。",
    },
}


@pytest.mark.parametrize(
    "language",
    [
        pytest.param("en", id="en"),
        pytest.param("zh-hans", id="zh", marks=pytest.mark.browser_context_args(locale="zh-CN")),
    ],
)
def test_a_notice_is_read_and_email_switched_off(page: Page, language: str) -> None:
    text = TEXTS[language]
    acme = User.objects.get(username="acme")
    delivery = take(PurchaseOrder.objects.get(number=SEED), acme, 30)
    token_file_generate(token_file_id=file_of(delivery).pk)
    assert Notice.objects.filter(user=acme, read_at__isnull=True).count() == 1

    log_in(page, "acme")
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        page.reload()
        bell = page.get_by_role("link", name=text["bell"])
        expect(bell).to_be_visible()
        expect(bell).to_be_in_viewport()
        check_accessibility(page)
    bell.click()
    expect(page).to_have_url(re.compile(r"/notifications/$"))
    title = text["title"].format(delivery.number)
    expect(page.get_by_text(title)).to_be_visible()
    check_accessibility(page)
    page.get_by_role("button", name=text["mark"], exact=True).click()
    expect(page.get_by_role("button", name=text["mark"], exact=True)).to_have_count(0)
    expect(page.locator(".topbar__count")).to_have_count(0)
    assert not Notice.objects.filter(user=acme, read_at__isnull=True).exists()

    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        page.get_by_role("link", name=text["settings"], exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(text["settings"])
        check_accessibility(page)
    ready_group = page.get_by_role("group", name=text["kind"], exact=True)
    ready_group.get_by_label(text["email"]).uncheck()
    page.get_by_role("button", name=text["save"]).click()
    expect(page.get_by_role("status")).to_contain_text(text["saved"])
    expect(
        page.get_by_role("group", name=text["kind"], exact=True).get_by_label(text["email"])
    ).not_to_be_checked()
    check_accessibility(page)
    choice = NotificationPreference.objects.get(user=acme, kind=kinds.FILE_READY)
    assert (choice.email, choice.portal) == (False, True)
