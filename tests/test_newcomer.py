"""What a newcomer meets first: `make run`, the README, the demo commands' output."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.celery_worker import worker_database_url

ROOT = Path(settings.BASE_DIR)


def python(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"DJANGO_DEBUG"}}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def test_the_readme_says_how_to_use_another_port() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run PORT=8001" in readme
    assert re.search(r"^PORT \?= 8000$", (ROOT / "Makefile").read_text(), re.M)


def test_make_run_shows_the_portals_own_error_pages_and_still_serves_static_files() -> None:
    """Debug off in `make run` (Django's yellow pages only with DJANGO_DEBUG=1), so 404 and
    500 are the portal's templates; runserver serves static files itself with --insecure."""
    code = "import refurb_portal.settings.dev as dev; print(dev.DEBUG)"
    assert python(code) == "False"
    assert python(code, DJANGO_DEBUG="1") == "True"
    dry_run = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "manage.py runserver --insecure" in dry_run


@pytest.mark.django_db(transaction=True)
def test_demo_totp_prints_one_line_and_no_banner_glued_to_it() -> None:
    call_command("demo_data", stdout=io.StringIO())
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "refurb_portal.settings.test",
        "DATABASE_URL": worker_database_url(),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "demo_totp"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # as a terminal shows them: both streams, interleaved
        text=True,
        check=True,
        timeout=120,
    )
    assert "AXES" not in result.stdout
    assert re.fullmatch(
        r"\d{6}   \(current for \d+ more seconds; each code works once\)\n", result.stdout
    ), result.stdout
