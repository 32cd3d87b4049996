"""The browser-test machinery itself: the browser is Debian's, and the checks can fail."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import (
    WIDE,
    AccessibilityViolations,
    PageProblems,
    check_accessibility,
    check_main_table_controls,
)

pytestmark = pytest.mark.browser


def test_the_browser_is_debians_chromium(browser: Browser) -> None:
    chromium = shutil.which("chromium")
    assert chromium is not None
    version = subprocess.run(
        [chromium, "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert browser.version in version  # "Chromium 156.0.8078.108 built on Debian ..."


def test_the_accessibility_check_fails_on_serious_violations(page: Page) -> None:
    page.set_content(
        '<html lang="en"><head><title>Bad</title></head><body><main>'
        '<h1>Form</h1><input type="text"><img src="data:,"></main></body></html>'
    )
    with pytest.raises(AccessibilityViolations, match=r"label \(critical\)|image-alt"):
        check_accessibility(page)


@pytest.mark.django_db(transaction=True)
def test_the_page_check_sees_csp_violations_and_console_errors(
    page: Page, page_problems: PageProblems, live_server: Any
) -> None:
    """A style injected by a script (what htmx does unless told not to) and an error logged by
    a script are caught on a real portal page under its real CSP; an allowed one is not."""
    page.goto("/accounts/login/")
    page.evaluate(
        "() => { const s = document.createElement('style'); s.textContent = 'body {}';"
        " document.head.appendChild(s); console.error('boom'); console.error('expected'); }"
    )
    page.wait_for_timeout(200)
    page_problems.allow("^expected$")
    found = page_problems.unexpected()
    assert any("style-src" in problem for problem in found), found
    assert any(problem.startswith("boom") for problem in found), found
    assert not any(problem.startswith("expected") for problem in found), found
    page_problems.messages.clear()  # seen and checked: the test itself must not fail on them


def test_the_main_table_check_fails_on_a_control_out_of_sight(page: Page) -> None:
    page.set_viewport_size(WIDE)
    page.set_content(
        '<html lang="en"><body><main><div class="table-wrap" style="overflow-x:auto;width:300px">'
        '<table style="width:900px"><tr><td>x</td><td style="padding-left:700px">'
        '<a href="/">Actions</a></td></tr></table></div></main></body></html>'
    )
    with pytest.raises(AssertionError, match="Actions"):
        check_main_table_controls(page, "test")
