"""Production settings: ``check --deploy`` is clean and the security values are what we promise.

Both run in a fresh interpreter with ``refurb_portal.settings.prod``, as a deployment would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
# A deployment's environment: none of the test run's DJANGO_* variables (the browser tests set
# DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly warns about).
PROD_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
    "DJANGO_SETTINGS_MODULE": "refurb_portal.settings.prod",
    "DJANGO_SECRET_KEY": "x7Kq-" + "long-random-production-secret-for-the-check-" * 2,
    "DJANGO_ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
}


def compose_env(service: str = "web") -> dict[str, str]:
    """The environment docker-compose gives ``service``, its ``${NAME:-default}`` defaults
    filled in as they are when nothing else is set."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = compose["services"][service]["environment"]
    return {
        name: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
        for name, value in environment.items()
    }


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_has_zero_warnings() -> None:
    result = check_deploy(PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_has_zero_warnings_with_the_compose_settings() -> None:
    env = {k: v for k, v in PROD_ENV.items() if k not in {"DATABASE_URL"}} | compose_env()
    assert "DJANGO_SECURE_SSL_REDIRECT" not in env  # HTTPS through the proxy, redirect on
    result = check_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_security_settings() -> None:
    script = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        "print(json.dumps({k: getattr(s, k) for k in ["
        "'DEBUG', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD',"
        "'SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY',"
        "'SESSION_COOKIE_SAMESITE', 'CSRF_COOKIE_SECURE', 'CSRF_COOKIE_HTTPONLY',"
        "'CSRF_COOKIE_SAMESITE', 'SESSION_COOKIE_AGE', 'X_FRAME_OPTIONS',"
        "'LANGUAGE_COOKIE_SECURE', 'LANGUAGE_COOKIE_SAMESITE', 'LANGUAGE_COOKIE_HTTPONLY',"
        "'SECURE_CONTENT_TYPE_NOSNIFF', 'SECURE_REFERRER_POLICY', 'SESSION_ENGINE']}"
        ", default=str)); print(json.dumps(s.SECURE_CSP, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        # Production has Redis (the broker): sessions are then read through it.
        env={**PROD_ENV, "REDIS_URL": "redis://127.0.0.1:6379/0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    values_line, csp_line = result.stdout.strip().splitlines()[-2:]
    values = json.loads(values_line)
    assert values == {
        "DEBUG": False,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_AGE": 12 * 3600,
        "X_FRAME_OPTIONS": "DENY",
        "LANGUAGE_COOKIE_SECURE": True,
        "LANGUAGE_COOKIE_SAMESITE": "Lax",
        "LANGUAGE_COOKIE_HTTPONLY": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SESSION_ENGINE": "accounts.sessions",
    }
    csp = json.loads(csp_line)
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'self'", "<CSP_NONCE_SENTINEL>"]
