"""The Activity export: the rows of the page's filters, as CSV and .xlsx, equal to the screen."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.http import FileResponse, StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from audit.services import audit_record
from orders.models import PurchaseOrder

pytestmark = pytest.mark.django_db
PAGE = reverse("audit:activity")


def export_url(file_format: str) -> str:
    return reverse(f"audit:export_{file_format}")


def screen_rows(client: Client, query: dict[str, object]) -> list[list[str]]:
    """Who, what and the sentence of each row the page shows (one page holds them all)."""
    page = client.get(PAGE, query).context["page"]
    assert not page.has_next()
    return [[e.actor_username or "—", e.label, e.sentence.text] for e in page.object_list]


@pytest.fixture
def events(acme_user: User, globex_user: User, seed_order: PurchaseOrder) -> None:
    product = seed_order.products.first()
    assert product is not None
    for n in range(5):
        audit_record(
            action="delivery.taken",
            actor=acme_user,
            details={
                "order": seed_order.number,
                "delivery": f"N{n:03d}",
                "product_id": product.pk,
                "quantity": n + 1,
                "available_before": 600,
                "available_after": 599 - n,
            },
        )
    audit_record(action="auth.logged_in", actor=acme_user)
    # A formula must stay text in a spreadsheet (defusedcsv, strings_to_formulas off).
    audit_record(
        action="delivery.voided",
        actor=acme_user,
        details={"order": seed_order.number, "delivery": "N000", "quantity": 1, "reason": "=1+1"},
    )
    audit_record(action="auth.logged_in", actor=globex_user)


@pytest.mark.parametrize(
    "query", [{}, {"action": "delivery.taken"}, {"action": "delivery.voided", "date_from": "x"}]
)
def test_the_csv_equals_the_rows_on_screen(
    acme_client: Client, events: None, query: dict[str, object]
) -> None:
    response = acme_client.get(export_url("csv"), query)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)  # streamed, not built in memory
    assert response["Content-Disposition"] == 'attachment; filename="activity.csv"'
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[arg-type]
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header == ["When", "Who", "What", "Details"]
    screen = screen_rows(acme_client, query)
    assert screen
    exported = [row[1:] for row in rows]
    # defusedcsv writes a cell starting with = as '=...: the same text, never a formula.
    assert [[c.removeprefix("'") for c in row] for row in exported] == screen
    assert all("globex" not in cell for row in rows for cell in row)


def test_the_xlsx_equals_the_rows_on_screen_in_chinese(acme_client: Client, events: None) -> None:
    query = {"person": "", "action": ""}
    with translation.override("zh-hans"):
        acme_client.cookies["django_language"] = "zh-hans"
        response = acme_client.get(export_url("xlsx"), query)
        screen = screen_rows(acme_client, query)
    assert isinstance(response, FileResponse)
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet is not None
    header, *rows = [
        [str(c) if c is not None else "" for c in r] for r in sheet.iter_rows(values_only=True)
    ]
    assert header == ["时间", "操作人", "操作", "详情"]
    assert [row[1:] for row in rows] == screen
    assert any("已作废订单" in row[3] for row in rows)
    assert sheet.cell(row=2, column=1).data_type == "s"


def test_another_manufacturers_rows_are_never_exported(globex_client: Client, events: None) -> None:
    text = b"".join(globex_client.get(export_url("csv")).streaming_content).decode()  # type: ignore[attr-defined]
    assert "LIC-2026-0001" not in text
    _header, *rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows
    assert {row[1] for row in rows} == {"globex"}  # its own log ins only
