"""Browser tests: Playwright drives Debian's Chromium against a live server on PostgreSQL.

Every test saves a screenshot of the last page of each browser context it opened into
``var/screenshots/`` (printed at the end of ``make test``), and checks each page it visits with
axe-core (``check_accessibility``); see ``docs/languages-and-browser-tests.md``. Every
context a test opens fails the test on a console error, an uncaught script error or a Content
Security Policy violation on any of its pages (``page_problems``); a test that provokes an error
on purpose says which with ``page_problems.allow``.
"""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import override_settings
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    WebError,
    expect,
)

from tests.celery_worker import CeleryWorker, purge_queue, run_celery_worker
from tests.conftest import SCREENSHOTS
from tests.tokens.conftest import _remove_token_files

__all__ = ["_remove_token_files"]

# Playwright's sync API runs an event loop in the test's thread; Django then refuses ORM calls
# from it unless told that this thread is not really async (the tests make data from it).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
# Only Debian's Chromium is used; Playwright must never fetch a browser build of its own.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

# An expectation waits up to 15 s (Playwright's default is 5 s) before it fails: the suite runs
# in parallel on two cores, where a page may take longer than alone. Passing waits no longer.
expect.set_options(timeout=15_000)

AXE_SCRIPT = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1366, "height": 900}
WIDE = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}

DEMO_PASSWORDS = {"acme": "acme-demo-2026", "globex": "globex-demo-2026"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed: `make test` installs it (as root).")
    return {
        **browser_type_launch_args,
        "executable_path": chromium,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def base_url(live_server: Any) -> str:
    """Every context opens relative URLs against the live server (pytest-base-url's fixture)."""
    return str(live_server.url)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
        "viewport": DESKTOP,
        "locale": "en-US",
        "timezone_id": "UTC",
    }


# Run in every page before its own scripts: a CSP violation is also reported as a console error
# (Chromium logs most, this catches the rest, such as a refused inline style from a script).
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " +
                (event.blockedURI || "inline") + " at " + event.sourceFile + ":" +
                event.lineNumber);
});
"""
FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")


class PageProblems:
    """Console errors, uncaught script errors and CSP violations seen in a test's pages.

    A page the test opened on purpose that answers with an error status (the 404 page, say)
    makes Chromium log "Failed to load resource"; that one line is expected and not counted.
    Anything else is, unless the test allowed it (``allow``, with regular expressions)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []  # (text, url of the page or resource)
        self.navigations: set[str] = set()
        self.allowed: list[re.Pattern[str]] = []

    def allow(self, *patterns: str) -> None:
        self.allowed.extend(re.compile(pattern) for pattern in patterns)

    def watch(self, context: BrowserContext) -> None:
        context.add_init_script(script=CSP_REPORTER)
        context.on("console", self._console)
        context.on("weberror", self._web_error)
        context.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            self.messages.append((message.text, str(message.location.get("url", ""))))

    def _web_error(self, error: WebError) -> None:
        self.messages.append((f"Uncaught: {error.error}", ""))

    def _response(self, response: Response) -> None:
        if response.request.is_navigation_request():
            self.navigations.add(response.url)

    def unexpected(self) -> list[str]:
        found = []
        for text, url in self.messages:
            if FAILED_LOAD.match(text) and url in self.navigations:
                continue  # an error page the test went to on purpose
            if "CSP violation" in text or "Content Security Policy" in text:
                found.append(f"{text} ({url})")  # never allowed
            elif not any(pattern.search(text) for pattern in self.allowed):
                found.append(f"{text} ({url})")
        return found


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def new_context(
    new_context: Callable[..., BrowserContext], page_problems: PageProblems
) -> Iterator[Callable[..., BrowserContext]]:
    """pytest-playwright's, with every context watched by ``page_problems``; the test fails
    on what they saw (after its own assertions, which say more when they fail first)."""

    def watched(**kwargs: Any) -> BrowserContext:
        context = new_context(**kwargs)
        page_problems.watch(context)
        return context

    yield watched
    problems = page_problems.unexpected()
    assert not problems, "Console errors or CSP violations in the pages:\n" + "\n".join(problems)


def check_main_table_controls(page: Page, name: str) -> None:
    """No control of the page's main table (its links, buttons and fields) is hidden or cut off:
    each is rendered and lies within the viewport and within the table's scrolling wrapper, so
    nobody has to find a sideways scroll bar to reach it. A form folded in a ``<details>`` (the
    void form of a delivery) is checked unfolded, as its user sees it, then folded again."""
    hidden = page.evaluate(
        """() => {
          const table = document.querySelector("main table");
          if (!table) return [];
          const folded = [...table.querySelectorAll("details:not([open])")];
          for (const details of folded) details.open = true;
          const wrap = table.closest(".table-wrap") || table.parentElement;
          const box = wrap.getBoundingClientRect();
          const controls = table.querySelectorAll(
            "a[href], button, select, textarea, input:not([type=hidden]), summary");
          const bad = [];
          for (const control of controls) {
            const r = control.getBoundingClientRect();
            const shown = control.checkVisibility(
              {visibilityProperty: true, opacityProperty: true});
            const inside = r.width > 0 && r.height > 0 && r.left >= Math.max(box.left, 0) - 1
              && r.right <= Math.min(box.right, window.innerWidth) + 1;
            if (!shown || !inside) {
              bad.push((control.textContent || control.name || control.tagName).trim().slice(0, 40)
                       + ` [${Math.round(r.left)}-${Math.round(r.right)} of ` +
                       `${Math.round(box.left)}-${Math.round(box.right)}]`);
            }
          }
          for (const details of folded) details.open = false;
          return bad;
        }"""
    )
    assert not hidden, f"{name}: controls of the main table hidden or cut off: {hidden}"


@pytest.fixture(scope="session", autouse=True)
def _screenshot_folder() -> None:
    """The folder exists; the run emptied it first (``pytest_sessionstart`` in
    ``tests/conftest.py``, once, before parallel workers start)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _screenshot_last_pages(
    request: pytest.FixtureRequest, browser: Browser, new_context: Callable[..., BrowserContext]
) -> Iterator[None]:
    """After the test (pass or fail), the last page of every context it opened is saved.

    It depends on ``new_context`` so that it is torn down first, while the contexts are open."""
    yield
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    pages = [context.pages[-1] for context in browser.contexts if context.pages]
    for index, page in enumerate(pages, start=1):
        suffix = f"-{index}" if len(pages) > 1 else ""
        page.screenshot(path=SCREENSHOTS / f"{name}{suffix}.png", full_page=True)


@pytest.fixture
def demo_data(transactional_db: None) -> None:
    """The demo companies, logins and orders of ``make run`` (README: acme, globex).

    Their original deliveries' token-file jobs are left unsent (as with the relay, which no
    browser test runs): sixty jobs made by a module's worker in the background would race the
    flush between tests (a deadlock seen with TRUNCATE), and no browser test needs them."""
    with override_settings(TOKEN_FILE_RELAY=True):
        call_command("demo_data", stdout=io.StringIO())


@pytest.fixture(scope="module")
def token_worker(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CeleryWorker]:
    """One real Celery worker process for a module's tests (started once: it takes seconds).

    It runs on this checkout's queue and on the database that pytest-django created, which is
    the one ``live_server`` serves from, so the jobs that the pages enqueue are made by it.
    Module-scoped rather than session-scoped: tests elsewhere start and kill workers of their own
    on the same queue."""
    purge_queue()
    with run_celery_worker(log_dir=tmp_path_factory.mktemp("celery")) as worker:
        yield worker
    purge_queue()


@contextmanager
def token_inserts_held() -> Iterator[None]:
    """While open, no session can insert tokens: a token file job that starts in the meantime
    is claimed (GENERATING) and then waits at its first insert, so a test sees the list before
    the file is ready, every time. ``SHARE`` mode conflicts with the ``ROW EXCLUSIVE`` lock of
    an insert and lets reads through; the lock goes when the session rolls back."""
    db = connections.create_connection(DEFAULT_DB_ALIAS)
    db.set_autocommit(False)
    try:
        with db.cursor() as cursor:
            cursor.execute("LOCK TABLE tokens_token IN SHARE MODE")
        yield
    finally:
        db.rollback()
        db.close()


NO_RELOAD = "window.__sameDocument"


def mark_document(page: Page) -> None:
    """A value set on ``window`` lives only as long as the document: it survives an in-place
    (HTMX) update and is gone after any page load."""
    page.evaluate(f"() => {{ {NO_RELOAD} = true; }}")


def still_same_document(page: Page) -> bool:
    return bool(page.evaluate(f"() => {NO_RELOAD} === true"))


def log_in(
    page: Page,
    username: str,
    password: str | None = None,
    *,
    landing: str = "**/purchase/orders/",
) -> None:
    """Log in through the login form, as a person would, and land on the Purchase Order page
    (or on ``landing``: the second step, for a user with two-factor authentication)."""
    page.goto("/accounts/login/")
    page.get_by_label(re.compile("Username|用户名")).fill(username)
    page.get_by_label(re.compile("Password|密码")).fill(password or DEMO_PASSWORDS[username])
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(landing)


class AccessibilityViolations(AssertionError):
    pass


@functools.cache
def axe_source() -> str:
    if not AXE_SCRIPT.exists():
        pytest.fail(f"{AXE_SCRIPT} is missing: `make test` installs it with npm ci.")
    return AXE_SCRIPT.read_text()


def check_accessibility(page: Page) -> None:
    """Run axe-core on the page as it is now; fail on any serious or critical violation.

    axe is injected with ``page.evaluate`` of the file's text rather than ``add_script_tag``:
    the portal's CSP allows only scripts with the page's nonce, so a script tag would be refused,
    and ``bypass_csp`` would switch off the very policy the pages must work under. DevTools
    evaluation is not subject to the page's CSP."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    # Every rule axe runs by default: WCAG 2.0-2.2 A and AA, and its best practices.
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    if bad:
        lines = [f"{page.url}: {len(bad)} serious or critical accessibility violation(s)"]
        for violation in bad:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            lines.extend(f"    {' '.join(node['target'])}" for node in violation["nodes"][:5])
        raise AccessibilityViolations("\n".join(lines))
