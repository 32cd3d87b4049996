"""The token lookup in a real browser (issue #16): paste, read the histories, follow a chain,
in English and Chinese, at 1366 and 390 px, with axe and no console errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from tests.browser.conftest import DESKTOP, PHONE, check_accessibility, log_in
from tests.browser.test_language_and_look import check_page_at_width
from tests.tokens.test_lookup import make_chain, new_uuid

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
def test_acme_looks_up_a_chain_in_english_and_chinese(page: Page, viewport: dict[str, int]) -> None:
    acme = User.objects.get(username="acme").manufacturer
    globex = User.objects.get(username="globex").manufacturer
    assert acme is not None
    assert globex is not None
    chain = make_chain(acme, "LIC-BROWSER-LOOKUP")
    theirs = make_chain(globex, "LIC-BROWSER-GLOBEX")
    page.set_viewport_size(viewport)
    log_in(page, "acme")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Token lookup").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Token lookup")
    page.get_by_label("Token IDs").fill(
        f"{chain.second.uuid}\n{theirs.second.uuid}\n{new_uuid()}\n"
    )
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("status").filter(has_text="found")).to_contain_text(
        "1 found · 2 unknown"
    )
    row = page.get_by_role("row").filter(has_text=chain.second.uuid)
    expect(row).to_contain_text("Replaced")
    expect(row).to_contain_text("LIC-BROWSER-LOOKUP")
    expect(page.get_by_role("row").filter(has_text=theirs.second.uuid)).to_contain_text("Unknown")
    check_page_at_width(page, f"token-lookup-en-{viewport['width']}")

    # Along the chain: what replaced it is one click away.
    page.get_by_role("link", name=chain.third.uuid).first.click()
    third = page.get_by_role("row").filter(has_text=chain.first.uuid)
    expect(third).to_contain_text("Issued")
    expect(page.get_by_label("Token IDs")).to_have_value(chain.third.uuid)

    page.get_by_label("Language").select_option(label="简体中文")
    expect(page.get_by_role("heading", level=1)).to_have_text("Token 查询")
    page.get_by_label("Token ID", exact=True).fill(f"not-a-token\n{chain.second.uuid}")
    page.get_by_role("button", name="查询").click()
    # The bad line is listed by its number; the good one is still looked up.
    expect(page.locator("#lookup-malformed")).to_contain_text("第 1 行")
    expect(page.get_by_role("row").filter(has_text=chain.second.uuid)).to_be_visible()
    check_page_at_width(page, f"token-lookup-zh-{viewport['width']}")

    page.get_by_role("link", name="吊销列表").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("吊销列表")
    check_accessibility(page)
