"""One check for the account pages' browser tests (team, forgot password): a page at 1366 and
at 390 px scrolls not sideways, is saved as a screenshot and passes axe."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, check_accessibility


def check_both_widths(page: Page, name: str) -> None:
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{page.url} at {viewport['width']} px scrolls by {overflow}px"
        page.screenshot(path=SCREENSHOTS / f"{name}-{viewport['width']}.png", full_page=True)
        check_accessibility(page)
    page.set_viewport_size(DESKTOP)
