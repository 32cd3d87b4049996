"""make run: debug on, the embedded SQLite database and eager tasks unless URLs say otherwise."""

from __future__ import annotations

from refurb_portal.settings.base import *  # noqa: F403

DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
