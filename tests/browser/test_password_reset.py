"""Forgot password in a real browser (issue #18): from the log in page, the email from
Django's mail outbox, a new password, and a log in with it. English and Chinese, 1366 and
390 px, axe on every page, no console errors."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.core.mail import EmailMessage
from playwright.sync_api import Page, expect

from refurb_portal.celery import app as celery_app
from tests.browser.conftest import log_in
from tests.browser.widths import check_both_widths

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]

NEW_PASSWORD = "acme-new-pass-2026"


@pytest.fixture
def email_task_here() -> Iterator[None]:
    """The email task runs in the live server's thread, so its mail lands in this process's
    outbox (in production a worker sends it)."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.update(task_always_eager=True)
    yield
    celery_app.conf.update(task_always_eager=before)


@pytest.mark.usefixtures("email_task_here")
def test_forgot_password_from_the_log_in_page(page: Page, mailoutbox: list[EmailMessage]) -> None:
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    check_both_widths(page, "reset-1")
    page.get_by_label("Email address").fill("nobody@example.com")
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    check_both_widths(page, "reset-2")
    assert not mailoutbox  # no account has it, and the page said the same

    page.locator("#language-select").select_option(label="简体中文")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.goto("/accounts/password-reset/")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^忘记密码"))
    check_both_widths(page, "reset-3")
    page.get_by_label("电子邮件地址").fill("acme@example.com")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("请查收电子邮件")

    (mail,) = mailoutbox
    assert "密码" in mail.subject  # in the language of the page it was asked from
    found = re.search(r"https?://[^/\s]+(/accounts/password-reset/\S+/)", mail.body)
    assert found is not None
    page.goto(found.group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text("设置新密码")
    check_both_widths(page, "reset-4")
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("密码已更改")
    check_both_widths(page, "reset-5")

    log_in(page, "acme", NEW_PASSWORD)
    expect(page.locator(".usermenu > summary")).to_have_text("acme")
