"""The session store: sessions in PostgreSQL, read through a short-lived copy in the cache (Redis).

Django's ``cached_db`` store has the idea (write to the database, then to the cache; read the
cache first) but two faults for this portal: it writes the cache outside its ``try`` when it
loads and deletes, so a Redis outage turns every request into a 500; and a cache delete that
fails leaves an ended session readable from the cache until the session's own expiry (12 hours).

Here:

- **The database is the truth.** Every write goes to it first; the cache only ever holds a copy
  of what the database held, for at most ``SESSION_CACHE_SECONDS`` (60 s). A session ended while
  Redis could not be told (a failed delete, or a load racing the end) is therefore served from
  the cache for at most that long after the copy was written, never longer.
- **Redis down is the database store.** Every cache call is guarded: an error is logged and the
  request goes on against the database (a read costs its ``SELECT`` again, as before).
- **Every end evicts.** ``delete`` (log out, ``flush``, ``cycle_key``, Django's session hash
  check, ``accounts.services.user_sessions_end``) deletes the row and then the copy; the only
  bulk delete of rows, ``clearsessions``, removes expired sessions, whose copies expire no later.

A request that finds its copy in the cache costs no query for its session. Async callers get the
same behaviour through ``sync_to_async`` (the portal runs under WSGI).
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.core.cache import caches

logger = logging.getLogger(__name__)

CACHE_KEY_PREFIX = "accounts.session."


class SessionStore(DatabaseStore):
    """Database sessions with a copy of each in ``caches[SESSION_CACHE_ALIAS]`` for at most
    ``settings.SESSION_CACHE_SECONDS``; any cache error falls back to the database."""

    cache_key_prefix = CACHE_KEY_PREFIX

    def _cache_key(self, session_key: str) -> str:
        return self.cache_key_prefix + session_key

    def _cache(self, what: str, *args: Any) -> tuple[bool, Any]:
        """``(True, caches[...].<what>(*args))``, or ``(False, None)`` when the cache fails
        (logged, never raised)."""
        try:
            return True, getattr(caches[settings.SESSION_CACHE_ALIAS], what)(*args)
        except Exception:
            logger.warning("session cache %s failed; using the database", what, exc_info=True)
            return False, None

    def _cache_copy(self, data: dict[str, Any], expiry_age: int) -> None:
        """Keep ``data`` as the copy of this session for at most ``SESSION_CACHE_SECONDS`` and
        never past the session's expiry; when that fails, try to remove an older copy."""
        if self.session_key is None:
            return
        key = self._cache_key(self.session_key)
        ttl = min(settings.SESSION_CACHE_SECONDS, expiry_age)
        if ttl <= 0 or not self._cache("set", key, data, ttl)[0]:
            self._cache("delete", key)

    def load(self) -> dict[str, Any]:
        """The session's data: the cache's copy, else the database's row (copied to the cache);
        ``{}`` for a key with no live row (the key is then dropped, as Django's stores do)."""
        key = self.session_key
        if key is not None and key.isascii() and key.isalnum():  # Django's keys: [a-z0-9]{32}
            _ok, data = self._cache("get", self._cache_key(key))
            if isinstance(data, dict):
                return data
        # Django's read: a key with no live row is dropped, so that a new one is made (never
        # the key a browser offered).
        row = self._get_session_from_db()  # type: ignore[attr-defined]
        if row is None:
            return {}
        data = self.decode(row.session_data)
        self._cache_copy(data, self.get_expiry_age(expiry=row.expire_date))
        return data

    def exists(self, session_key: str) -> bool:
        # Only when a new key is chosen: the database answers (the row's key is unique anyway).
        return bool(session_key) and super().exists(session_key)

    def save(self, must_create: bool = False) -> None:
        """Write the row (Django's ``CreateError``/``UpdateError`` as the database store raises
        them), then replace the cache's copy."""
        super().save(must_create)
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        self._cache_copy(data, self.get_expiry_age())

    def delete(self, session_key: str | None = None) -> None:
        """Delete the row, then the cache's copy (a copy the cache failed to delete lives at
        most ``SESSION_CACHE_SECONDS`` more)."""
        key = session_key if session_key is not None else self.session_key
        super().delete(session_key)
        if key is not None:
            self._cache("delete", self._cache_key(key))

    async def aload(self) -> dict[str, Any]:
        return await sync_to_async(self.load)()

    async def aexists(self, session_key: str) -> bool:
        return await sync_to_async(self.exists)(session_key)

    async def asave(self, must_create: bool = False) -> None:
        await sync_to_async(self.save)(must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)
