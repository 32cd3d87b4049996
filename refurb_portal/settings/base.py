"""Settings shared by every environment; each value that differs comes from the environment."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

# Lets admin.ModelAdmin[Model] and friends be subscripted at run time, as the stubs allow.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# A short id of this checkout, so that two clones on one machine (parallel work, CI) never share
# a test database, a Celery queue or a cache prefix.
CHECKOUT_ID = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:8]


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-dev-key-change-me-in-production")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h]

INSTALLED_APPS = [
    # The admin's default site is our PortalAdminSite: staff need a verified OTP device, and
    # every add, change and delete made through it is written to the audit trail.
    "accounts.admin_config.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_otp",
    # The next three under the names staff read in the admin (accounts/third_party_apps.py).
    "accounts.third_party_apps.TwoFactorAppsConfig",
    "accounts.third_party_apps.TwoFactorBackupCodesConfig",
    "accounts.third_party_apps.LogInLockoutsConfig",
    "pgtrigger",
    "accounts",
    "orders",
    "deliveries",
    "tokens",
    "workorders",
    "audit",
    # On top of the others (nothing imports them): the public API and its webhooks. Before
    # "ninja", so that api/templates/ninja/ overrides its docs page (CSP nonces).
    "api",
    "webhooks",
    # On top too: email and in-portal notices fed by the audit trail, like webhooks.
    "notifications",
    "ninja",
]

MIDDLEWARE = [
    # First: every log line of the request, its Celery jobs and audit events carry its id.
    "refurb_portal.request_id.RequestIdMiddleware",
    # First: NUL bytes, overlong values and oversized bodies are refused before anything reads
    # them (refurb_portal/middleware.py).
    "refurb_portal.middleware.RequestEdgesMiddleware",
    # Before SecurityMiddleware reads X-Forwarded-Proto: only the configured proxies may send it.
    "refurb_portal.middleware.UntrustedForwardedHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication and messages: an expired session is ended before any view runs.
    "accounts.middleware.SessionTimeoutMiddleware",
    # Django's LoginRequiredMiddleware, answering HTMX requests with a whole-page redirect.
    "accounts.middleware.LoginRequiredMiddleware",
    # After LoginRequired: a logged-in user who must use two-factor has to verify first.
    "accounts.middleware.TwoFactorMiddleware",
    # After authentication: times are shown in the user's zone (accounts.time_zones).
    "accounts.time_zones.TimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "refurb_portal.urls"
WSGI_APPLICATION = "refurb_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.unread_notices",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL selects PostgreSQL; without it the embedded SQLite file is used (make run).
SQLITE_PATH = BASE_DIR / "var" / "db.sqlite3"


def database_from_env(default_url: str | None) -> dict[str, object]:
    url = os.environ.get("DATABASE_URL", default_url)
    if not url:
        SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at
            # BEGIN so that two deliveries on SQLite serialize instead of failing on upgrade.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 600))
    config["CONN_HEALTH_CHECKS"] = True
    return dict(config)


DATABASES = {"default": database_from_env(None)}

# Two roles on PostgreSQL (refurb_portal/db_roles.py): DATABASE_URL is the application's role,
# with only the privileges it needs; DATABASE_OWNER_URL (same database) is the owner's, used by
# `manage.py migrate` alone, which then creates the application's role if missing and grants it.
DATABASE_OWNER_URL = os.environ.get("DATABASE_OWNER_URL", "")
DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE") or (
    str(DATABASES["default"].get("USER") or "") if DATABASE_OWNER_URL else ""
)
DATABASE_APP_PASSWORD = os.environ.get("DATABASE_APP_PASSWORD") or (
    str(DATABASES["default"].get("PASSWORD") or "") if DATABASE_OWNER_URL else ""
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# django-axes first: it refuses a locked-out user and address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, reading the request's user, manufacturer and device flag in one query.
    "accounts.backends.PortalBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "orders:purchase_order_list"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- I18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Unambiguous English dates and times with the zone's offset (refurb_portal/formats).
FORMAT_MODULE_PATH = ["refurb_portal.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"

# Token files and work-order attachments: never under a public URL.
PRIVATE_STORAGE_ROOT = Path(os.environ.get("PRIVATE_STORAGE_ROOT", BASE_DIR / "var" / "private"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_STORAGE_ROOT, "base_url": None},
    },
}
# With PRIVATE_STORAGE_S3_BUCKET, private files live in S3 (or any S3-compatible server such as
# SeaweedFS or MinIO at PRIVATE_STORAGE_S3_ENDPOINT_URL) through django-storages; credentials come
# from boto3's usual chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, an instance role...).
PRIVATE_STORAGE_S3_BUCKET = os.environ.get("PRIVATE_STORAGE_S3_BUCKET", "")


def private_s3_storage(bucket: str, *, location: str = "") -> dict[str, object]:
    """The ``STORAGES`` entry of private storage in ``bucket`` under the key prefix ``location``."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "location": location,
            "endpoint_url": os.environ.get("PRIVATE_STORAGE_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("PRIVATE_STORAGE_S3_REGION", "us-east-1"),
            "signature_version": "s3v4",
            # Path-style URLs work with every S3-compatible server, and with AWS.
            "addressing_style": os.environ.get("PRIVATE_STORAGE_S3_ADDRESSING", "path"),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("PRIVATE_STORAGE_URL_EXPIRE_SECONDS", 60),
            "file_overwrite": True,
        },
    }


if PRIVATE_STORAGE_S3_BUCKET:
    STORAGES["private"] = private_s3_storage(PRIVATE_STORAGE_S3_BUCKET)

# How a private file reaches the browser once the access check passed and the download is
# recorded: "stream" through Django, or "redirect" to a presigned URL of the object store that
# expires after PRIVATE_STORAGE_URL_EXPIRE_SECONDS (S3 only; local files always stream).
PRIVATE_STORAGE_DOWNLOAD = os.environ.get("PRIVATE_STORAGE_DOWNLOAD", "stream")
PRIVATE_STORAGE_URL_EXPIRE_SECONDS = env_int("PRIVATE_STORAGE_URL_EXPIRE_SECONDS", 60)

# --- Security headers -----------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# The language switcher's cookie: set by the server (a POST), never read by scripts.
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Pages send the CSRF token in the form or in hx-headers, never read from the cookie by scripts.
CSRF_COOKIE_HTTPONLY = True
# A stale form gets the portal's page (and, for HTMX, a header the page's script recognises).
CSRF_FAILURE_VIEW = "refurb_portal.error_views.csrf_failure"

# --- Request edges (refurb_portal.middleware) ----------------------------------------------
# A body declared larger than this is refused (413) before it is read; upload views below get
# their files' room on top. Values: path, query string, each header, each query or form value.
REQUEST_BODY_MAX_BYTES = env_int("REQUEST_BODY_MAX_BYTES", 256 * 1024)
REQUEST_PATH_MAX_CHARS = 1024
REQUEST_QUERY_MAX_CHARS = 4096
REQUEST_HEADER_MAX_CHARS = 8192
# The longest field is the token lookup's list: 1,000 UUIDs of 20 characters, one a line.
REQUEST_VALUE_MAX_CHARS = env_int("REQUEST_VALUE_MAX_CHARS", 24_000)
WORK_ORDER_ATTACHMENT_MAX_BYTES = env_int("WORK_ORDER_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024)
WORK_ORDER_ATTACHMENT_MAX_FILES = env_int("WORK_ORDER_ATTACHMENT_MAX_FILES", 5)
WORK_ORDER_TOOL_MAX_BYTES = env_int("WORK_ORDER_TOOL_MAX_BYTES", 500 * 1024 * 1024)
# The views that take files: URL name -> (the setting of bytes per file, of files or a count).
ATTACHMENT_LIMITS = ("WORK_ORDER_ATTACHMENT_MAX_BYTES", "WORK_ORDER_ATTACHMENT_MAX_FILES")
UPLOAD_VIEWS: dict[str, tuple[str, str | int]] = {
    "workorders:submit": ATTACHMENT_LIMITS,
    "workorders:detail": ATTACHMENT_LIMITS,
    "admin:workorders_workorder_reply": ATTACHMENT_LIMITS,
    "admin:workorders_workorder_attach_tool": ("WORK_ORDER_TOOL_MAX_BYTES", 1),
    "deliveries:initiate": ("OLD_UUID_LIST_MAX_BYTES", 1),
    "tokens:lookup": ("TOKEN_LOOKUP_FILE_MAX_BYTES", 1),
    "admin:tokens_token_lookup": ("TOKEN_LOOKUP_FILE_MAX_BYTES", 1),
}

# --- Sessions -------------------------------------------------------------------------------
# Database sessions, so that ending a deactivated user's sessions really removes them; with a
# shared cache (Redis, below) read through a copy kept there at most SESSION_CACHE_SECONDS
# (accounts.sessions: Redis down falls back to the database; an ended session's copy is deleted,
# and one that could not be lives no longer than that).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_CACHE_ALIAS = "default"
SESSION_CACHE_SECONDS = env_int("SESSION_CACHE_SECONDS", 60)
# accounts.middleware.SessionTimeoutMiddleware ends a session idle for SESSION_IDLE_TIMEOUT or
# older than SESSION_ABSOLUTE_TIMEOUT; the cookie lives no longer than the absolute limit.
SESSION_IDLE_TIMEOUT = timedelta(minutes=env_int("SESSION_IDLE_MINUTES", 30))
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=env_int("SESSION_ABSOLUTE_HOURS", 12))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())

# --- Log-in throttling (django-axes) --------------------------------------------------------
# Locked per username and address together, so nobody can lock a user out from elsewhere.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
# And per address across user names (accounts.login_throttle): (failed log ins, per seconds).
LOGIN_FAILURES_PER_ADDRESS = (env_int("LOGIN_FAILURES_PER_ADDRESS", 30), 15 * 60)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_RESET_ON_SUCCESS = True
# An attempt during a lockout is refused without extending it (and audited as a lockout).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out_response"
AXES_CLIENT_IP_CALLABLE = "audit.services.client_ip"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "csrfmiddlewaretoken"]
# The audit trail records every log in; axes keeps only the failures it counts.
AXES_DISABLE_ACCESS_LOG = True
# Behind N reverse proxies, the client address is the Nth from the right in X-Forwarded-For.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# The addresses (or networks, "10.0.0.0/8") of those proxies: X-Forwarded-* headers from anyone
# else are removed before any code reads them (refurb_portal.middleware).
TRUSTED_PROXY_ADDRESSES = [
    a.strip() for a in os.environ.get("TRUSTED_PROXY_ADDRESSES", "").split(",") if a.strip()
]

# --- Two-factor authentication (django-otp) -------------------------------------------------
OTP_TOTP_ISSUER = "Refurb Portal"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
TWO_FACTOR_RECOVERY_CODES = 10

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"refurb-{CHECKOUT_ID}",
        }
    }
    # Only a cache all the processes share may hold sessions' copies (a process's own memory
    # would keep a session another process ended).
    SESSION_ENGINE = "accounts.sessions"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------------------------
# Without a broker (make run) tasks run eagerly in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged only when it has finished, and given back when its worker dies, so a
# crashed worker loses no token file; each task is idempotent, so running one twice is harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 50 * 60
CELERY_TASK_TIME_LIMIT = 55 * 60
# Redis re-delivers an unacknowledged task after the visibility timeout: above the longest job.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "refurb")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # The token-file outbox: re-sends jobs the broker never got or a dead worker dropped. A sweep
    # nobody ran in time is dropped (expires) rather than queued behind the next one.
    "tokens-sweep": {
        "task": "tokens.token_file_sweep",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # The audit chain's safety net: events the relay has not sealed (audit.services.audit_seal).
    "audit-seal": {"task": "audit.seal", "schedule": 30.0, "options": {"expires": 25}},
    # Retention of token files (TOKEN_FILE_RETENTION_DAYS; nothing happens at 0).
    "tokens-purge": {
        "task": "tokens.token_files_purge",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
    # The webhook outbox: messages whose send the broker never got.
    "webhooks-sweep": {
        "task": "webhooks.sweep",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # The notification email outbox (notifications.services), likewise.
    "notifications-sweep": {
        "task": "notifications.sweep",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}

# --- Token files (tokens app) ---------------------------------------------------------------
# Tokens made and sent to the database at a time (memory per job is about 1 KB per token of it).
TOKEN_FILE_BATCH_SIZE = env_int("TOKEN_FILE_BATCH_SIZE", 10_000)
# The sweeper re-sends a PENDING job last sent this long ago, and a GENERATING job whose
# heartbeat (written at least once a batch) is this old.
TOKEN_FILE_RESEND_AFTER_SECONDS = env_int("TOKEN_FILE_RESEND_AFTER_SECONDS", 60)
TOKEN_FILE_STALE_AFTER_SECONDS = env_int("TOKEN_FILE_STALE_AFTER_SECONDS", 120)
# A job claimed this many times without finishing is marked failed for staff to look at.
TOKEN_FILE_MAX_ATTEMPTS = env_int("TOKEN_FILE_MAX_ATTEMPTS", 5)
# Rows of one .xlsx part: Excel holds 1,048,576 rows a sheet, header included; a larger
# delivery gets numbered parts (docs/token-files.md).
TOKEN_FILE_XLSX_ROWS_PER_PART = env_int("TOKEN_FILE_XLSX_ROWS_PER_PART", 1_000_000)
# Retention (docs/scale.md): a READY token file neither made nor downloaded for this many days
# is removed from storage (its tokens stay; a download makes the same bytes again, checked
# against the recorded SHA-256). 0 keeps every file for ever.
TOKEN_FILE_RETENTION_DAYS = env_int("TOKEN_FILE_RETENTION_DAYS", 0)
# A targeted new delivery's list of old UUIDs (deliveries.old_uuids): lines, and upload bytes
# (1,000,000 lines of a 20-character UUID are about 22 MB as text, more as .xlsx).
OLD_UUID_LIST_MAX_LINES = env_int("OLD_UUID_LIST_MAX_LINES", 1_000_000)
OLD_UUID_LIST_MAX_BYTES = env_int("OLD_UUID_LIST_MAX_BYTES", 64 * 1024 * 1024)
# A job interrupted by a transient database error is sent again after this, doubling each time.
TOKEN_FILE_RETRY_BACKOFF_SECONDS = env_int("TOKEN_FILE_RETRY_BACKOFF_SECONDS", 2)
# With a broker, a take sends nothing: the relay (``manage.py token_file_relay``, woken by
# LISTEN/NOTIFY) sends the PENDING rows it commits. Without one (make run) the job runs eagerly
# after the take's commit, as before.
TOKEN_FILE_RELAY = env_bool("TOKEN_FILE_RELAY", bool(REDIS_URL))
# The relay's poll when no notification comes (a notification lost with its connection).
TOKEN_FILE_RELAY_POLL_SECONDS = env_int("TOKEN_FILE_RELAY_POLL_SECONDS", 2)
# The relay also seals the audit chain (audit.services.audit_seal); where none runs, each event
# is sealed right after its commit. audit_verify fails on one unsealed for longer (seconds).
AUDIT_SEAL_ON_COMMIT = env_bool("AUDIT_SEAL_ON_COMMIT", not TOKEN_FILE_RELAY)
AUDIT_SEAL_MAX_DELAY = env_int("AUDIT_SEAL_MAX_DELAY", 60)

# --- Product settings -----------------------------------------------------------------------
# How long any service waits for a row another transaction has locked (an order's counters, a
# work order's status: refurb_portal.locking.lock_row) before refusing as "busy".
ROW_LOCK_TIMEOUT_MS = env_int("ROW_LOCK_TIMEOUT_MS", 5000)
# A manufacturer's user may void a new delivery (never downloaded) this long after taking it;
# staff may void one at any time in the admin (rule R14).
NEW_DELIVERY_VOID_HOURS = env_int("NEW_DELIVERY_VOID_HOURS", 24)
# Token lookup (tokens.lookup_forms): UUIDs a lookup and the largest list file; the revocation
# list's longest range of days (the API's too).
TOKEN_LOOKUP_MAX_UUIDS = env_int("TOKEN_LOOKUP_MAX_UUIDS", 1000)
TOKEN_LOOKUP_FILE_MAX_BYTES = env_int("TOKEN_LOOKUP_FILE_MAX_BYTES", 512 * 1024)
REVOCATION_LIST_MAX_DAYS = env_int("REVOCATION_LIST_MAX_DAYS", 366)
# Rows per page of each list (refurb_portal.pages.paginate).
PURCHASE_ORDERS_PER_PAGE = 25
NEW_DELIVERIES_PER_PAGE = 25
WORK_ORDERS_PER_PAGE = 20
# Long lists count their rows up to this many (40 pages of 25) and then say "more than": a
# COUNT(*) over a manufacturer's whole history would grow with it, and even a capped count of
# joined rows costs about 1 ms a thousand (refurb_portal.pages.CappedPaginator, bench/scale.py).
LIST_COUNT_CAP = 1_000
AUDIT_EVENTS_PER_PAGE = 50
# The page sizes a person may choose on the Purchase Order list (the first is the default).
PURCHASE_ORDER_PAGE_SIZES = (PURCHASE_ORDERS_PER_PAGE, 50, 100)
# Work orders (workorders.files): attachments per submission or reply, and the largest file.
WORK_ORDER_ATTACHMENT_MAX_FILES = env_int("WORK_ORDER_ATTACHMENT_MAX_FILES", 5)
WORK_ORDER_ATTACHMENT_MAX_BYTES = env_int("WORK_ORDER_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024)
WORK_ORDER_TOOL_MAX_BYTES = env_int("WORK_ORDER_TOOL_MAX_BYTES", 500 * 1024 * 1024)
# The portal's address for links in emails sent outside a request (a Celery task), e.g.
# https://portal.example.com; empty gives links relative to the site.
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "")
# Abuse limits (accounts.ratelimit), per user and per manufacturer in windows of "seconds".
# Takes count attempts (neither replays nor refused input): far above what a busy factory,
# a person correcting entries or several colleagues at once ever make, well below a runaway script.
RATE_LIMITS = {
    "delivery.take": {
        "user": env_int("RATE_LIMIT_TAKES_PER_USER_PER_MINUTE", 60),
        "manufacturer": env_int("RATE_LIMIT_TAKES_PER_MINUTE", 600),
        "seconds": 60,
    },
    "tokens.download": {
        "user": env_int("RATE_LIMIT_DOWNLOADS_PER_USER_PER_MINUTE", 30),
        "manufacturer": env_int("RATE_LIMIT_DOWNLOADS_PER_MINUTE", 30),
        "seconds": 60,
    },
    # Forgot password, before log in: per client address and per email address typed, an hour.
    "password.reset": {
        "address": env_int("RATE_LIMIT_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR", 30),
        "email": env_int("RATE_LIMIT_PASSWORD_RESETS_PER_EMAIL_PER_HOUR", 5),
        "seconds": 3600,
    },
}
# Team invitations (accounts.services.invitation_create): how long the emailed link works.
INVITATION_VALID_FOR = timedelta(days=env_int("INVITATION_VALID_DAYS", 7))

# --- Public API and webhooks (api, webhooks) ------------------------------------------------
# Where the API's URLs start: the request-edge refusals answer problem+json there.
API_PATH_PREFIX = "/api/"
# Requests per API key: (how many, per how many seconds); RateLimit headers tell clients.
API_RATE_LIMIT = (env_int("API_RATE_LIMIT_PER_MINUTE", 600), 60)
# Webhook targets on loopback, private or link-local addresses are refused unless this is on
# (tests and local development only): the portal must not become a way into internal networks.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
# A delivery of an event is tried again with growing pauses for this long, then given up; an
# endpoint that has failed for this long is disabled and its manufacturer's users emailed.
WEBHOOK_RETRY_FOR = timedelta(hours=24)
WEBHOOK_TIMEOUT_SECONDS = 10

# Django 6.1's MAILERS replaces EMAIL_BACKEND; the console backend prints mail in make run.
MAILERS: dict[str, dict[str, object]] = {
    "default": {
        "BACKEND": os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    }
}
# Notification emails (notifications.services): tries before one is given up as failed, the
# pauses between them doubling from 30 s to at most an hour (about 3 hours in all).
NOTIFICATION_EMAIL_MAX_ATTEMPTS = env_int("NOTIFICATION_EMAIL_MAX_ATTEMPTS", 8)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Refurb Portal <noreply@localhost>")

# --- Operations (refurb_portal.operations, refurb_portal.metrics) ---------------------------
# /metrics answers only to "Authorization: Bearer <METRICS_TOKEN>"; without one it is closed.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# Gauges read from the apps' tables at scrape time (refurb_portal.metrics imports no app).
METRICS_COLLECTORS = ["tokens.metrics.TokenFileCollector"]
# Each /readyz check (database, broker, storage) gives up after this long.
READYZ_TIMEOUT_SECONDS = env_int("READYZ_TIMEOUT_SECONDS", 2)
# Probes come over plain HTTP from inside the cluster: no redirect to HTTPS for them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Celery sends task events, so that Flower (or `celery events`) shows tasks without code changes.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True


# Logs: one JSON object a line (LOG_FORMAT=json, the default outside make run) with the request
# id of the request or Celery job that wrote it; LOG_FORMAT=text for people. AuthKeys never reach
# a log line or an error report: both pass through the redaction.
def logging_config(log_format: str) -> dict[str, object]:
    """``LOGGING`` with lines formatted as ``json`` or ``text``."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "redact_secrets": {"()": "audit.redaction.RedactSecretsFilter"},
            "request_id": {"()": "refurb_portal.request_id.RequestIdLogFilter"},
        },
        "formatters": {
            "json": {
                "()": "audit.logs.RedactingJsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "filters": ["request_id", "redact_secrets"],
                "formatter": "json" if log_format == "json" else "text",
            },
        },
        "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # django-axes announces itself at INFO in every process (each manage.py command, both
            # runserver processes), in the middle of other commands' output: not wanted.
            "axes.apps": {"level": "WARNING"},
        },
    }


LOGGING = logging_config(os.environ.get("LOG_FORMAT", "json"))
DEFAULT_EXCEPTION_REPORTER = "audit.redaction.RedactingExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "audit.redaction.RedactingExceptionReporterFilter"
