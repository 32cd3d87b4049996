"""make test: PostgreSQL and Redis, each checkout with its own test database and Redis keys."""

from __future__ import annotations

import os

from refurb_portal.settings import base
from refurb_portal.settings.base import *  # noqa: F403

# pytest-xdist runs the suite in parallel worker processes (``make test``: two). pytest-django
# gives each its own test database (a ``_gw0`` suffix); everything else a test shares is kept
# apart here by the worker's id: Redis keys, the Celery queue, private files. Processes a test
# starts (web servers, Celery workers) inherit the variable, so they land in the same part.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
RUN_ID = f"{base.CHECKOUT_ID}-{WORKER}" if WORKER else base.CHECKOUT_ID

DATABASES = {
    "default": base.database_from_env("postgres://postgres@127.0.0.1:5432/postgres"),
}
DATABASES["default"]["TEST"] = {"NAME": f"test_refurb_{base.CHECKOUT_ID}"}
# The test database is created and migrated by DATABASE_URL's role (the owner); the tests then
# run as this application role (tests/conftest.py), one per checkout so that clones sharing a
# server never grant each other's databases.
DATABASE_APP_ROLE = f"refurb_app_{base.CHECKOUT_ID}"
DATABASE_APP_PASSWORD = ""

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"refurb-test-{RUN_ID}",
    }
}
# Redis is shared by every process of a test run: sessions are read through it (base.py).
SESSION_ENGINE = "accounts.sessions"
CELERY_BROKER_URL = REDIS_URL
# Tests call tasks directly or through a real worker they start; nothing runs eagerly by accident.
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = f"refurb-test-{RUN_ID}"
# Tests send a take's job after its commit unless they run the relay (tests/tokens/test_relay.py,
# tests/test_processes.py, tests/test_redis_down.py), which set this (or its environment).
TOKEN_FILE_RELAY = base.env_bool("TOKEN_FILE_RELAY", False)
# Deterministic chains: each event sealed right after its commit, whether a relay runs or not
# (tests of the relay's and beat's sealing turn it off). A test inside one transaction (no
# commit) calls audit_seal itself.
AUDIT_SEAL_ON_COMMIT = True

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PRIVATE_STORAGE_ROOT = (
    base.BASE_DIR / "var" / (f"test-private-{WORKER}" if WORKER else "test-private")
)
STORAGES = {**base.STORAGES}
# make test runs pytest beside its own SeaweedFS (tools/seaweedfs.py sets the bucket): private
# storage is then S3. Without the bucket (a quick run of a few tests) it is a local folder.
if base.PRIVATE_STORAGE_S3_BUCKET and WORKER:
    STORAGES["private"] = base.private_s3_storage(base.PRIVATE_STORAGE_S3_BUCKET, location=WORKER)
if not base.PRIVATE_STORAGE_S3_BUCKET:
    STORAGES["private"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_STORAGE_ROOT, "base_url": None},
    }
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Tests that are not about abuse limits must never meet them; tests about them set their own.
RATE_LIMITS = {
    action: {"user": 10_000, "manufacturer": 10_000, "seconds": 60}
    for action in ("delivery.take", "tokens.download")
}
RATE_LIMITS["password.reset"] = {"address": 10_000, "email": 10_000, "seconds": 3600}
# The cache outlives each test: the suite's own failed log ins from 127.0.0.1 must not add up
# to the per-address throttle (tests/security/test_cookies_proxies.py sets its own limit).
LOGIN_FAILURES_PER_ADDRESS = (10_000, 15 * 60)

API_RATE_LIMIT = (100_000, 60)
WEBHOOK_ALLOW_PRIVATE_TARGETS = True
