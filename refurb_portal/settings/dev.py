"""make run: the embedded SQLite database and eager tasks unless URLs say otherwise."""

from __future__ import annotations

import os

from refurb_portal.settings.base import *  # noqa: F403
from refurb_portal.settings.base import env_bool

# Off unless DJANGO_DEBUG=1: a newcomer meets the portal's own 404 and 500 pages, as in
# production, not Django's debug pages (`make run` serves static files with --insecure).
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

# make run: log lines for people, unless LOG_FORMAT says otherwise.
LOGGING = logging_config(os.environ.get("LOG_FORMAT", "text"))  # noqa: F405
