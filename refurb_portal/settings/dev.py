"""make run: debug on, the embedded SQLite database and eager tasks unless URLs say otherwise."""

from __future__ import annotations

import os

from refurb_portal.settings.base import *  # noqa: F403

DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

# make run: log lines for people, unless LOG_FORMAT says otherwise.
LOGGING = logging_config(os.environ.get("LOG_FORMAT", "text"))  # noqa: F405
