"""English and Simplified Chinese in a real browser, and how the main pages look at a phone's
and a desktop's width (the screenshots in var/screenshots/look-*.png)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import BrowserContext, Page, expect

from accounts.models import User
from orders.models import PurchaseOrder
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    WIDE,
    check_accessibility,
    check_main_table_controls,
    log_in,
)
from tests.factories import UserFactory
from tests.tokens.conftest import file_of, take
from tests.workorders.conftest import submit
from tokens.generation import token_file_generate
from tokens.services import token_file_download_record
from workorders.models import WorkOrder
from workorders.services import work_order_assign, work_order_reply, work_order_tool_attach
from workorders.transitions import Side

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]

SEED = "LIC-2026-0001"


def language_cookie(context: BrowserContext) -> str | None:
    for cookie in context.cookies():
        if cookie["name"] == settings.LANGUAGE_COOKIE_NAME:
            return cookie["value"]
    return None


def test_switching_language_keeps_the_page_and_persists(page: Page) -> None:
    log_in(page, "acme")
    page.get_by_label("Status").select_option(label="Partially delivered")
    expect(page).to_have_url(re.compile(r"status=partial"))
    where = page.url

    page.get_by_label("Language").select_option(label="简体中文")  # submits by itself
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    assert page.url == where, "the switch must come back to the same page, filters included"
    expect(page).to_have_title("采购订单 · 翻新门户")
    expect(page.get_by_role("heading", level=1)).to_have_text("采购订单")
    expect(page.get_by_label("状态")).to_have_value("partial")
    assert language_cookie(page.context) == "zh-hans"
    check_accessibility(page)

    # Dates and numbers follow the language (Django's zh_Hans formats).
    seed = PurchaseOrder.objects.get(number="LIC-2026-0001")
    page.get_by_role("link", name="重置").click()
    row = page.locator("#results tbody tr").filter(has_text="LIC-2026-0001")
    created = seed.created_at
    expect(row.locator("time")).to_have_text(f"{created.year}年{created.month}月{created.day}日")
    expect(row.locator("td").nth(2)).to_have_text("1000")  # English shows 1,000
    total = PurchaseOrder.objects.filter(manufacturer__name="Acme Smart Home").count()
    expect(page.locator("#results-count")).to_have_text(f"{total} 个订单")
    expect(page.get_by_role("navigation", name="分页")).to_contain_text("第 1 页，共")  # noqa: RUF001

    # The choice outlives the session: log out, and the login page is still in Chinese.
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")
    check_accessibility(page)
    page.get_by_label("用户名").fill("acme")
    page.get_by_label("密码").fill("acme-demo-2026")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("采购订单")

    page.get_by_label("语言").select_option(label="English")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Purchase Order")
    assert language_cookie(page.context) == "en"


@dataclass(frozen=True)
class Stop:
    """One page of the tour: where it is, what to do there first, and whether its screenshots
    are among the main pages' (``look-*.png``); every stop is checked at both widths."""

    name: str
    url: str
    then: Callable[[Page], None] | None = None
    main: bool = False


@dataclass(frozen=True)
class Tour:
    """Every page of the portal, in the states a person meets, in three sessions: before
    logging in, as a user with two-factor authentication (before and after the code), and as
    acme."""

    anonymous: list[Stop]
    unverified: list[Stop]
    verified: list[Stop]
    acme: list[Stop]
    two_factor_user: User


def submit_form(page: Page, values: dict[str, str], *, expect_error: str) -> None:
    for selector, value in values.items():
        page.locator(selector).fill(value)
    # The submit button of the form holding the first field (a page may have several forms).
    form = page.locator(next(iter(values))).locator("xpath=ancestor::form[1]")
    form.locator("button[type=submit]").last.click()
    expect(page.locator(expect_error).first).to_be_visible()


def take_with_bad_quantity(page: Page) -> None:
    submit_form(page, {"#id_quantity": "abc"}, expect_error="#id_quantity_error")


def submit_empty_work_order(page: Page) -> None:
    submit_form(page, {"#id_description": ""}, expect_error=".field__error")


def log_in_wrongly(page: Page) -> None:
    submit_form(
        page, {"#id_username": "acme", "#id_password": "not it"}, expect_error="[role=alert]"
    )


def get_locked_out(page: Page) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.goto("/accounts/login/")
        page.locator("#id_username").fill("someone")
        page.locator("#id_password").fill("guessing")
        page.locator("main form button[type=submit]").click()
    expect(page.locator("main .notice--error")).to_be_visible()


def enter_a_wrong_recovery_code(page: Page) -> None:
    # Not digits, so it is tried as a recovery code and does not slow the authenticator down.
    submit_form(page, {"#id_code": "wrong-code"}, expect_error="#code-error")


def replace_recovery_codes(page: Page) -> None:
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".recovery-codes li")).to_have_count(settings.TWO_FACTOR_RECOVERY_CODES)


@pytest.fixture
def tour(demo_data: None) -> Tour:
    """The demo data after some use, so that every page shows what it shows in real life: on
    the seed's order a delivery with its file ready and downloaded and one still pending (no
    worker runs here), a refurbishment-tool request that staff answered with the tool, and a
    second acme user who logs in with an authenticator app."""
    acme = User.objects.get(username="acme")
    staff = User.objects.get(username="staff")
    seed = PurchaseOrder.objects.get(number=SEED)
    ready = take(seed, acme, 250)
    token_file = token_file_generate(token_file_id=file_of(ready).pk)
    assert token_file is not None
    token_file_download_record(token_file=token_file, user=acme)
    pending = take(seed, acme, 40)
    work_order = submit(
        acme,
        order=seed,
        description="Please send the refurbishment tool for our WB3S production line.",
        contact="Li Wei, +86 21 5555 0100",
    )
    work_order_assign(work_order_id=work_order.pk, assignee=staff, user=staff)
    work_order_reply(
        work_order_id=work_order.pk,
        user=staff,
        side=Side.STAFF,
        body="Here is the download link. It works with the production-line fixture RT-2.",
        to_status=WorkOrder.Status.PROCESSING,
    )
    work_order_tool_attach(
        work_order_id=work_order.pk,
        user=staff,
        tool_link="https://downloads.example.com/refurbishment-tool-3.2.zip",
    )
    nothing_delivered = PurchaseOrder.objects.filter(
        manufacturer=seed.manufacturer, quantity_delivered=0
    ).first()
    assert nothing_delivered is not None
    lin = UserFactory(username="lin", manufacturer=acme.manufacturer)
    TOTPDevice.objects.create(user=lin, name="Authenticator app", confirmed=True)
    initiate = f"/purchase/orders/{SEED}/new-delivery/"
    return Tour(
        anonymous=[
            Stop("login", "/accounts/login/", main=True),
            Stop("login-error", "/accounts/login/", log_in_wrongly),
            Stop("locked-out", "/accounts/login/", get_locked_out),
        ],
        unverified=[
            Stop("two-factor-verify", "/accounts/two-factor/verify/"),
            Stop("two-factor-error", "/accounts/two-factor/verify/", enter_a_wrong_recovery_code),
        ],
        verified=[
            Stop("two-factor-on", "/accounts/two-factor/"),
            Stop("recovery-codes", "/accounts/two-factor/", replace_recovery_codes),
        ],
        acme=[
            Stop("orders", "/purchase/orders/", main=True),
            Stop("initiate", initiate, main=True),
            Stop("initiate-error", initiate, take_with_bad_quantity),
            Stop("initiate-none", f"/purchase/orders/{nothing_delivered.number}/new-delivery/"),
            Stop("deliveries-order", f"/purchase/orders/{SEED}/new-deliveries/", main=True),
            Stop("deliveries-all", "/purchase/new-deliveries/"),
            Stop("order", f"/purchase/orders/{SEED}/", main=True),
            Stop("file-not-ready", f"/purchase/new-deliveries/{pending.pk}/download/"),
            Stop("workorders", "/work-orders/", main=True),
            Stop("workorder", f"/work-orders/{work_order.pk}/", main=True),
            Stop(
                "workorder-new",
                f"/work-orders/new/?type=tool&order={SEED}",
                submit_empty_work_order,
            ),
            Stop("activity", "/activity/", main=True),
            Stop("settings", "/settings/", main=True),
            Stop("notifications", "/notifications/"),
            Stop("two-factor-off", "/accounts/two-factor/"),
            Stop("two-factor-setup", "/accounts/two-factor/set-up/"),
            Stop("not-found", "/purchase/orders/NO-SUCH-ORDER/new-delivery/"),
        ],
        two_factor_user=lin,
    )


@pytest.mark.parametrize(
    "language",
    [
        pytest.param("en", id="en"),
        pytest.param("zh-hans", id="zh", marks=pytest.mark.browser_context_args(locale="zh-CN")),
    ],
)
def test_every_page_is_accessible_and_looks_finished_on_phone_and_desktop(
    page: Page, language: str, tour: Tour
) -> None:
    """A browser set to Chinese gets Chinese at once (Accept-Language). Every page of the
    portal, in the states a person meets, is checked with axe at a phone's width and at 1366
    and 1920 px, and must not scroll sideways; at 1366 and 1920 px no control of its main table
    is hidden or cut off, and on the phone the user menu (two-factor set-up) is within reach.
    The screenshots of the main pages (``look-*``) are for people."""

    def visit(stops: list[Stop]) -> None:
        for stop in stops:
            for width_name, viewport in (("desktop", DESKTOP), ("wide", WIDE), ("phone", PHONE)):
                page.set_viewport_size(viewport)
                page.goto(stop.url)
                expect(page.locator("html")).to_have_attribute("lang", language)
                if stop.then is not None:
                    stop.then(page)
                prefix = "look-" if stop.main else ""
                check_page_at_width(page, f"{prefix}{stop.name}-{language}-{width_name}")

    visit(tour.anonymous)

    log_in(page, "lin", "secret-pass-123", landing="**/accounts/two-factor/verify/**")
    visit(tour.unverified)
    device = TOTPDevice.objects.get(user=tour.two_factor_user)
    page.locator("#id_code").fill(f"{TOTP(device.bin_key).token():06d}")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/purchase/orders/")
    visit(tour.verified)
    page.locator(".topbar form[action$='/logout/'] button").click()
    expect(page).to_have_url(re.compile("/accounts/login/"))

    log_in(page, "acme")
    visit(tour.acme)


def check_page_at_width(page: Page, name: str) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px"
    if page.viewport_size != PHONE:
        check_main_table_controls(page, name)
    user_menu = page.locator(".topbar__user")
    if user_menu.count():
        # At the top of the page (a form with errors scrolls to them): never off to the side.
        page.evaluate("window.scrollTo(0, 0)")
        expect(user_menu).to_be_in_viewport()
    # Every section of the menu in sight, a phone's too (its links wrap, never scroll away).
    page.evaluate("window.scrollTo(0, 0)")
    for link in page.locator(".topnav a").all():
        expect(link).to_be_in_viewport(ratio=1)
    check_accessibility(page)
