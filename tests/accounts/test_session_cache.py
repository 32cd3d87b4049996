"""Sessions read through Redis (accounts.sessions): no query when the copy is there, the
database when Redis is down, and an ended session never served from the cache afterwards."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.middleware import SESSION_SEEN_KEY
from accounts.models import User
from accounts.services import user_sessions_end
from accounts.sessions import CACHE_KEY_PREFIX, SessionStore
from tests.test_redis_down import cache_unreachable

pytestmark = pytest.mark.django_db

ORDERS = reverse("orders:purchase_order_list")
LOGIN = reverse("accounts:login")
LOGOUT = reverse("accounts:logout")


def logged_in() -> Client:
    client = Client()
    response = client.post(LOGIN, {"username": "acme", "password": "secret-pass-123"})
    assert response.status_code == 302
    return client


def copy_of(session_key: str) -> Any:
    return caches[settings.SESSION_CACHE_ALIAS].get(CACHE_KEY_PREFIX + session_key)


def with_cookie(session_key: str) -> Client:
    """A new browser presenting ``session_key`` (a stolen or kept cookie)."""
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    return client


def refused(monkeypatch: pytest.MonkeyPatch, method: str) -> Any:
    """The sessions' cache, whose ``method`` ("set", "delete") now raises as Redis would."""
    cache = caches[settings.SESSION_CACHE_ALIAS]

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError(f"Redis refused the {method}")

    monkeypatch.setattr(type(cache), method, refuse)
    return cache


def session_queries(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in queries if "django_session" in q["sql"]]


def test_the_engine_is_the_cached_store() -> None:
    assert settings.SESSION_ENGINE == "accounts.sessions"


def test_a_session_in_the_cache_costs_no_query(acme_user: User) -> None:
    client = logged_in()
    key = client.session.session_key or ""
    assert copy_of(key)["_auth_user_id"] == str(acme_user.pk)
    assert session_queries(client, ORDERS) == []


def test_a_session_missing_from_the_cache_is_read_from_the_database_and_copied(
    acme_user: User,
) -> None:
    client = logged_in()
    key = client.session.session_key or ""
    caches[settings.SESSION_CACHE_ALIAS].delete(CACHE_KEY_PREFIX + key)
    assert len(session_queries(client, ORDERS)) == 1
    assert copy_of(key)["_auth_user_id"] == str(acme_user.pk)
    assert session_queries(client, ORDERS) == []


def test_the_copy_lives_at_most_session_cache_seconds(acme_user: User) -> None:
    client = logged_in()
    key = client.session.session_key or ""
    cache = caches[settings.SESSION_CACHE_ALIAS]
    redis = cache._cache.get_client(write=False)  # type: ignore[attr-defined]
    ttl = redis.ttl(cache.make_and_validate_key(CACHE_KEY_PREFIX + key))
    assert 0 < ttl <= settings.SESSION_CACHE_SECONDS


def test_a_logged_out_session_is_never_served_from_the_cache(acme_user: User) -> None:
    client = logged_in()
    key = client.session.session_key or ""
    assert client.get(ORDERS).status_code == 200
    assert client.post(LOGOUT).status_code == 302
    assert copy_of(key) is None
    assert not Session.objects.filter(session_key=key).exists()
    assert with_cookie(key).get(ORDERS).status_code == 302


def test_sessions_ended_in_bulk_leave_no_copy(acme_user: User) -> None:
    """``user_sessions_end`` (deactivation, a colleague's removal) evicts each copy: with the
    user still active, only the eviction keeps the old cookie out."""
    first, second = logged_in(), logged_in()
    keys = [first.session.session_key or "", second.session.session_key or ""]
    assert all(copy_of(key) for key in keys)
    assert user_sessions_end(user=acme_user) == 2
    assert [copy_of(key) for key in keys] == [None, None]
    for key in keys:
        assert with_cookie(key).get(ORDERS).status_code == 302


def test_a_cycled_key_leaves_no_copy_of_the_old_one(acme_user: User) -> None:
    client = logged_in()
    session = client.session
    old = session.session_key or ""
    session.cycle_key()
    assert copy_of(old) is None
    assert copy_of(session.session_key or "")["_auth_user_id"] == str(acme_user.pk)


def test_a_failed_cache_delete_leaves_the_copy_no_longer_than_its_ttl(
    acme_user: User, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """Redis refusing the delete: the row is gone, the logout succeeds, and the copy that
    survived expires within ``SESSION_CACHE_SECONDS`` of being written."""
    client = logged_in()
    key = client.session.session_key or ""
    cache = refused(monkeypatch, "delete")
    assert client.post(LOGOUT).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    redis = cache._cache.get_client(write=False)
    ttl = redis.ttl(cache.make_and_validate_key(CACHE_KEY_PREFIX + key))
    assert 0 < ttl <= settings.SESSION_CACHE_SECONDS
    monkeypatch.undo()
    cache.delete(CACHE_KEY_PREFIX + key)
    assert with_cookie(key).get(ORDERS).status_code == 302


def test_with_redis_down_sessions_work_from_the_database(acme_user: User, settings: Any) -> None:
    """Log in, pages, the seen-time write and log out: no 5xx, the database answers."""
    with cache_unreachable(settings):
        client = logged_in()
        key = client.session.session_key or ""
        assert len(session_queries(client, ORDERS)) == 1
        session = client.session
        session[SESSION_SEEN_KEY] = time.time() - 120  # the next request writes it again
        session.save()
        assert client.get(ORDERS).status_code == 200
        row = Session.objects.get(session_key=key)
        assert row.get_decoded()[SESSION_SEEN_KEY] > time.time() - 60
        assert client.post(LOGOUT).status_code == 302
        assert not Session.objects.filter(session_key=key).exists()
        assert with_cookie(key).get(ORDERS).status_code == 302


def test_a_write_the_cache_refused_removes_the_older_copy(
    acme_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save whose cache ``set`` fails deletes the copy it could not replace, so the next read
    takes the database's newer data rather than the older copy."""
    client = logged_in()
    key = client.session.session_key or ""
    refused(monkeypatch, "set")
    store = SessionStore(session_key=key)
    store["marker"] = "newer"
    store.save()
    assert copy_of(key) is None
    assert SessionStore(session_key=key)["marker"] == "newer"


@pytest.mark.django_db(transaction=True)
def test_async_calls_go_through_the_same_store(acme_user: User) -> None:
    # An event loop of its own in a thread of its own: a browser test earlier in the same
    # process can leave one running in this thread, where async_to_sync refuses to run.
    client = logged_in()
    key = client.session.session_key or ""
    store = SessionStore(session_key=key)
    loaded: list[dict[str, Any]] = []

    async def load_then_delete() -> None:
        from asgiref.sync import sync_to_async

        loaded.append(await store.aload())
        await store.adelete()
        await sync_to_async(connections.close_all)()  # those of the thread that ran them

    worker = threading.Thread(target=asyncio.run, args=(load_then_delete(),))
    worker.start()
    worker.join(timeout=30)
    assert loaded, "the coroutine did not finish"
    assert loaded[0]["_auth_user_id"] == str(acme_user.pk)
    assert copy_of(key) is None
    assert not Session.objects.filter(session_key=key).exists()


def test_a_new_key_is_checked_in_the_database_only(
    django_assert_num_queries: Callable[..., Any],
) -> None:
    """A new key is checked against the database only (never the cache)."""
    with django_assert_num_queries(1):
        assert SessionStore().exists("x" * 32) is False
