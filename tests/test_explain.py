"""The hot pages' queries read a page's rows from an index, and count at most a cap of rows:
checked with EXPLAIN on a manufacturer with 5,000 orders and 10,000 new deliveries, enough
rows that a sequential scan or a sort of the whole history would be the planner's choice if
the index did not serve (bench/scale.py measures the same queries at 100,000 orders)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.models import Manufacturer, User
from bench.harness import fill_history
from deliveries.selectors import new_delivery_list, new_delivery_products
from orders.models import PurchaseOrder
from orders.selectors import purchase_order_list
from refurb_portal.pages import paginate
from tests.factories import ProductFactory, PurchaseOrderFactory

# Committed rows, so that the owner's connection can ANALYZE them (the app's role may not).
pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = 5_000
DELIVERIES = 10_000
CAP = 10_000  # above the lists' own (LIST_COUNT_CAP): the count reads this many rows at most
BIG_TABLES = ("orders_purchaseorder", "deliveries_newdelivery", "tokens_tokenfile")


@pytest.fixture
def history(
    acme: Manufacturer, acme_user: User, globex: Manufacturer, owner_db: BaseDatabaseWrapper
) -> None:
    products = ProductFactory.create_batch(3, manufacturer=acme)
    fill_history(
        manufacturer_id=acme.pk,
        user_id=acme_user.pk,
        product_ids=[p.pk for p in products],
        orders=ORDERS,
        deliveries=DELIVERIES,
    )
    other = ProductFactory(manufacturer=globex)
    fill_history(
        manufacturer_id=globex.pk,
        user_id=acme_user.pk,  # who took them does not matter here
        product_ids=[other.pk],
        orders=50,
        deliveries=100,
        prefix="G",
    )
    with owner_db.cursor() as cursor:  # statistics, as autovacuum keeps them
        for table in (*BIG_TABLES, "orders_purchaseorder_products"):
            cursor.execute(f"ANALYZE {table}")


def page_queries(items: Any, page: int = 1, per_page: int = 25) -> list[str]:
    """The SQL a list page runs: its (capped) count, then its rows."""
    request = RequestFactory().get("/", {"page": page})
    with CaptureQueriesContext(connection) as captured:
        listing = paginate(request, items, per_page=per_page, count_cap=CAP)
        list(listing["page"].object_list)
    return [q["sql"] for q in captured.captured_queries]


def plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def plan_lines(text: str) -> list[str]:
    return [line.strip().removeprefix("->").strip() for line in text.splitlines()]


def seq_scans_of_big_tables(text: str) -> list[str]:
    return [
        line
        for line in plan_lines(text)
        if any(line.startswith(f"Seq Scan on {t}") for t in BIG_TABLES)
    ]


def full_sorts(text: str) -> list[str]:
    """Sort nodes: every row found, then sorted (an Incremental Sort of rows an index already
    ordered by their first key reads only as far as the page)."""
    return [line for line in plan_lines(text) if line.startswith("Sort  (")]


# Name: (the list's query, whether its rows span the manufacturer's whole history).
QUERIES: dict[str, tuple[Callable[[Manufacturer], Any], bool]] = {
    "Purchase Order list": (lambda m: purchase_order_list(manufacturer=m), True),
    "New delivery list, all orders": (lambda m: new_delivery_list(manufacturer=m), True),
    # One order's few deliveries: sorting them is cheap, finding them must use an index.
    "New delivery list of an order": (
        lambda m: new_delivery_list(
            manufacturer=m, order=PurchaseOrder.objects.get(number=f"H-{ORDERS // 2:07d}")
        ),
        False,
    ),
}


@pytest.mark.parametrize("name", QUERIES)
def test_a_page_is_read_from_an_index_and_its_count_stops_at_the_cap(
    name: str, history: None, acme: Manufacturer
) -> None:
    query, whole_history = QUERIES[name]
    count_sql, rows_sql = page_queries(query(acme))[:2]  # then any prefetches
    rows_plan = plan(rows_sql)
    assert "Limit" in rows_plan.splitlines()[0], rows_plan
    assert seq_scans_of_big_tables(rows_plan) == [], rows_plan
    assert "Index" in rows_plan, rows_plan
    if whole_history:
        assert full_sorts(rows_plan) == [], rows_plan
    assert "COUNT(*)" in count_sql.upper()
    assert f"LIMIT {CAP + 1}" in count_sql.upper(), count_sql
    assert "Limit" in plan(count_sql)


def test_a_far_page_counts_up_to_itself(history: None, acme: Manufacturer) -> None:
    """Page 300 of 25 rows lies past a cap of 5,000: it is still reached (the cap grows to
    cover it), and Next is offered."""
    request = RequestFactory().get("/", {"page": 300})
    listing = paginate(request, new_delivery_list(manufacturer=acme), per_page=25, count_cap=5_000)
    page = listing["page"]
    assert page.number == 300
    assert page.paginator.capped
    assert page.has_next()
    assert len(page.object_list) == 25


def test_an_absurd_page_number_is_the_last_page(acme: Manufacturer) -> None:
    """?page= with 30 digits neither overflows the count's LIMIT nor fails: the last page."""
    PurchaseOrderFactory.create_batch(3, manufacturer=acme)
    request = RequestFactory().get("/", {"page": "9" * 30})
    listing = paginate(request, purchase_order_list(manufacturer=acme), per_page=2, count_cap=5)
    assert listing["page"].number == 2
    assert not listing["page"].paginator.capped


@pytest.mark.parametrize("of_one_order", [False, True])
def test_the_product_filter_probes_an_index_per_product_and_reads_no_history(
    history: None, acme: Manufacturer, of_one_order: bool
) -> None:
    """The New delivery list's product choices: the products with a delivery, found by one
    index probe each, never by reading the manufacturer's deliveries (it took 160-250 ms at
    100,000 orders when it joined them to their orders)."""
    order = PurchaseOrder.objects.get(number=f"H-{ORDERS // 2:07d}") if of_one_order else None
    products = new_delivery_products(manufacturer=acme, order=order)
    sql, params = products.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        text = "\n".join(row[0] for row in cursor.fetchall())
    assert seq_scans_of_big_tables(text) == [], text
    assert "Hash Join" not in text, text
    assert "Index" in text, text
    assert len(list(products)) == (1 if of_one_order else 3)
