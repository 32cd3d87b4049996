from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client, TransactionTestCase
from django.urls import reverse
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Manufacturer, User
from orders.models import PurchaseOrder
from orders.services import original_delivery_record
from tests.factories import (
    ManufacturerFactory,
    ProductFactory,
    PurchaseOrderFactory,
    StaffUserFactory,
    UserFactory,
)

# The browser tests' screenshots (tests/browser/conftest.py), printed at the end of make test.
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def pytest_sessionstart(session: pytest.Session) -> None:
    """The browser tests' screenshots of the last run are removed once per run: in the only
    process, or in pytest-xdist's controller before its workers start (a worker emptying the
    folder would remove what another worker had already saved)."""
    if not hasattr(session.config, "workerinput"):
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _empty_celery_queue() -> Iterator[None]:
    """Jobs that tests enqueue without a worker must not pile up in the shared Redis: this
    checkout's queue (its name is unique to the checkout) is emptied before and after the run,
    and kombu's bindings for it are removed afterwards."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    client.delete(queue)
    yield
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    client.close()


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Every test starts in English, whatever the test before it (or a request it made through
    the locale middleware, which leaves its language active on the thread) left active. A test
    that wants Chinese says so with ``translation.override("zh-hans")`` or the request's
    language."""
    translation.activate("en")
    yield
    translation.deactivate()


CREDENTIALS = ("USER", "PASSWORD")


@contextmanager
def connected_as(user: str, password: str = "") -> Iterator[None]:
    """The default database's connections (this thread's, and any opened meanwhile by other
    threads or a worker started meanwhile) log in as ``user``; the previous role afterwards."""
    db = connections[DEFAULT_DB_ALIAS]
    before = {key: db.settings_dict.get(key) for key in CREDENTIALS}
    db.close()
    db.settings_dict.update(USER=user, PASSWORD=password)
    try:
        yield
    finally:
        db.close()
        db.settings_dict.update(before)


@pytest.fixture(scope="session")
def db_owner() -> dict[str, str]:
    """The role that created and migrated the test database (DATABASE_URL's): ``user`` and
    ``password``, filled in by ``django_db_setup``."""
    return {}


@pytest.fixture(scope="session")
def django_db_setup(
    django_db_setup: None, db_owner: dict[str, str], django_db_blocker: Any
) -> Iterator[None]:
    """The owner (``DATABASE_URL``'s role) created and migrated the test database, and the
    migration granted ``DATABASE_APP_ROLE`` its privileges: the tests run as that role, as the
    application does. Only the flush after a transactional test, which TRUNCATEs every table,
    runs as the owner."""
    owner = {
        key.lower(): str(connections[DEFAULT_DB_ALIAS].settings_dict.get(key) or "")
        for key in CREDENTIALS
    }
    db_owner.update(owner)
    flush = TransactionTestCase._fixture_teardown

    def flush_as_owner(self: TransactionTestCase) -> None:
        with connected_as(**owner):
            flush(self)

    TransactionTestCase._fixture_teardown = flush_as_owner  # type: ignore[method-assign]
    with connected_as(settings.DATABASE_APP_ROLE):
        yield
    TransactionTestCase._fixture_teardown = flush  # type: ignore[method-assign]
    with django_db_blocker.unblock():
        _end_other_sessions()


def _end_other_sessions() -> None:
    """End every other session on the test database before pytest-django drops it. A process
    or thread that a test started may still be closing its connection as the run ends (seen
    with two workers at once): PostgreSQL would then refuse the DROP after five seconds and
    leave the database behind on the shared server."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT application_name, usename, state, backend_start, left(query, 200),"
            " pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        ended = cursor.fetchall()
    if ended:
        with (Path(settings.BASE_DIR) / "var" / "test-sessions-ended.log").open("a") as log:
            for row in ended:
                print(*row, sep=" | ", file=log)


@pytest.fixture
def owner_db(django_db_setup: None, db_owner: dict[str, str]) -> Iterator[BaseDatabaseWrapper]:
    """A connection of its own to the test database as its owner, in autocommit (it sees only
    committed rows: use it from ``transaction=True`` tests)."""
    settings_dict = {
        **connections[DEFAULT_DB_ALIAS].settings_dict,
        "USER": db_owner["user"],
        "PASSWORD": db_owner["password"],
    }
    db = connections[DEFAULT_DB_ALIAS].__class__(settings_dict, alias="owner")
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def acme() -> Manufacturer:
    return ManufacturerFactory(name="Acme Smart Home")


@pytest.fixture
def globex() -> Manufacturer:
    return ManufacturerFactory(name="Globex Devices")


# Each company's first user is its administrator (as the roles' migration made them): they may
# do everything, API keys and webhooks included. Tests of the other roles make their own users.
@pytest.fixture
def acme_user(acme: Manufacturer) -> User:
    return UserFactory(username="acme", manufacturer=acme, role=User.Role.ADMINISTRATOR)


@pytest.fixture
def globex_user(globex: Manufacturer) -> User:
    return UserFactory(username="globex", manufacturer=globex, role=User.Role.ADMINISTRATOR)


@pytest.fixture
def staff_user() -> User:
    return StaffUserFactory(username="staff")


@pytest.fixture
def acme_client(client: Client, acme_user: User) -> Client:
    client.force_login(acme_user)
    return client


@pytest.fixture
def globex_client(globex_user: User) -> Client:
    other = Client()
    other.force_login(globex_user)
    return other


def login_verified(client: Client, user: User) -> TOTPDevice:
    """Log ``user`` in with a session that passed the two-factor step, as the verify page
    leaves it (django-otp keeps the verifying device's id in the session)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


@pytest.fixture
def staff_client(staff_user: User) -> Client:
    """Staff in the admin need a verified OTP device: this client has one."""
    other = Client()
    login_verified(other, staff_user)
    return other


def delivered_license_order(
    manufacturer: Manufacturer, *, ordered: int = 1000, delivered: int = 600, **kwargs: object
) -> PurchaseOrder:
    """A device license order for three products with ``delivered`` tokens issued."""
    products = ProductFactory.create_batch(3, manufacturer=manufacturer)
    order = PurchaseOrderFactory(
        manufacturer=manufacturer, quantity_ordered=ordered, products=products, **kwargs
    )
    if delivered:
        original_delivery_record(order_id=order.pk, quantity=delivered, user=None)
        order.refresh_from_db()
    return order


@pytest.fixture
def seed_order(acme: Manufacturer) -> PurchaseOrder:
    """The seed's example: 1000 tokens ordered, 600 delivered, 600 available."""
    return delivered_license_order(acme, ordered=1000, delivered=600, number="LIC-2026-0001")


def admin_user_change_data(client: Client, user: User, **changes: object) -> dict[str, object]:
    """The admin's user change form for ``user`` as it stands, with ``changes``, ready to post."""
    url = reverse("admin:accounts_user_change", args=[user.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "password"}
    data.update(
        {
            "manufacturer": user.manufacturer_id,
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "groups": [],
            "user_permissions": [],
            **changes,
        }
    )
    data.pop("last_login", None)
    data.pop("date_joined", None)
    return data
