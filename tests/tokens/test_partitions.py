"""The partitioning plan's command: monthly token partitions made ahead (docs/scale.md)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from tests.conftest import connected_as
from tokens.partitions import (
    DIRECTORY,
    LOOKUP_SQL,
    PARENT,
    existing_partitions,
    planned_partitions,
    token_partitions_ensure,
)

# DDL is the owner's (the tests otherwise run as the application's role): each test makes the
# tables as the owner and drops them afterwards.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def as_owner(db_owner: dict[str, str]) -> Iterator[None]:
    with connected_as(db_owner["user"], db_owner["password"]):
        yield
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {PARENT}, {DIRECTORY}")


def insert(month: dt.date, *, delivery: int, serial: int, uuid: str, key: str) -> str:
    """Insert one token row into the plan's table; the partition it landed in."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PARENT} (issued_month, delivery_id, product_id, serial, uuid, auth_key) "  # noqa: S608
            "VALUES (%s, %s, 1, %s, %s, %s) RETURNING tableoid::regclass::text",
            [month, delivery, serial, uuid, key],
        )
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


def test_the_plan_names_this_month_and_the_next_ones_across_a_year_end() -> None:
    planned = planned_partitions(today=dt.date(2026, 11, 15), ahead=3)
    assert [p.name for p in planned] == [
        "tokens_token_y2026m11",
        "tokens_token_y2026m12",
        "tokens_token_y2027m01",
        "tokens_token_y2027m02",
    ]
    assert (planned[1].first_day, planned[1].next_first_day) == (
        dt.date(2026, 12, 1),
        dt.date(2027, 1, 1),
    )
    with pytest.raises(ValueError, match="ahead"):
        planned_partitions(today=dt.date(2026, 11, 15), ahead=-1)


def test_partitions_are_made_ahead_once_and_rows_land_in_their_month() -> None:
    today = dt.date(2026, 11, 30)
    created = token_partitions_ensure(today=today, ahead=2)
    assert created == ["tokens_token_y2026m11", "tokens_token_y2026m12", "tokens_token_y2027m01"]
    assert token_partitions_ensure(today=today, ahead=2) == []  # idempotent
    assert token_partitions_ensure(today=today, ahead=3) == ["tokens_token_y2027m02"]
    assert existing_partitions() == [
        "tokens_token_y2026m11",
        "tokens_token_y2026m12",
        "tokens_token_y2027m01",
        "tokens_token_y2027m02",
    ]
    a, b = "a" * 20, "b" * 20
    assert insert(dt.date(2026, 12, 1), delivery=1, serial=1, uuid=a, key="K" * 32) == (
        "tokens_token_y2026m12"
    )
    assert insert(dt.date(2027, 2, 1), delivery=2, serial=1, uuid=b, key="L" * 32) == (
        "tokens_token_y2027m02"
    )
    # The same UUID twice in one month is refused by the month's unique index.
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(dt.date(2026, 12, 1), delivery=3, serial=1, uuid=a, key="M" * 32)
    # A month without its partition fails loudly: there is no catch-all partition.
    with pytest.raises(DatabaseError), transaction.atomic():
        insert(dt.date(2027, 6, 1), delivery=4, serial=1, uuid="c" * 20, key="N" * 32)


def test_the_command_makes_this_month_and_the_months_ahead() -> None:
    out = io.StringIO()
    call_command("token_partitions", "--ahead", "1", stdout=out)
    this_month = timezone.now().date().replace(day=1)
    expected = [p.name for p in planned_partitions(today=this_month, ahead=1)]
    assert existing_partitions() == expected
    assert out.getvalue().splitlines()[-1] == "2 partition(s) created"
    again = io.StringIO()
    call_command("token_partitions", "--ahead", "1", stdout=again)
    assert again.getvalue().strip() == "0 partition(s) created"


def listed(uuid: str, month: dt.date) -> None:
    """Record a UUID in the plan's directory, as the job would beside the token row."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DIRECTORY} (uuid, issued_month) VALUES (%s, %s)",  # noqa: S608
            [uuid, month],
        )


def test_the_directory_keeps_a_uuid_once_across_months_and_leads_a_lookup_to_its_month() -> None:
    token_partitions_ensure(today=dt.date(2026, 11, 1), ahead=2)
    a, b = "a" * 20, "b" * 20
    november, january = dt.date(2026, 11, 1), dt.date(2027, 1, 1)
    insert(november, delivery=1, serial=1, uuid=a, key="K" * 32)
    listed(a, november)
    insert(january, delivery=2, serial=7, uuid=b, key="L" * 32)
    listed(b, january)
    # Each month's unique index alone would let the same UUID into another month: the
    # directory's primary key refuses it.
    with pytest.raises(IntegrityError), transaction.atomic():
        listed(a, january)
    with connection.cursor() as cursor:
        cursor.execute(LOOKUP_SQL, [[a, b, "c" * 20]])
        found = sorted(cursor.fetchall())
    assert found == [(a, november, 1, 1), (b, january, 2, 7)]  # the unknown one falls out
