"""The browser-test machinery itself: the browser is Debian's, and the checks can fail."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import AccessibilityViolations, check_accessibility

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
