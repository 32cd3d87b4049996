"""The Initiate new delivery page's targeted part: paste or upload a list, see its check, take
the valid lines, download the problem list; and the original deliveries' License Lists."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Manufacturer
from tests.deliveries.conftest import page_text
from tests.deliveries.test_targeted import (
    _remove_stored_files,
    order_with_tokens,
    uuids_of,
)
from tokens.models import Token, TokenFile

__all__ = ["_remove_stored_files"]

pytestmark = pytest.mark.django_db


def _check(client: Client, url: str, **data: object) -> str:
    response = client.post(url, {"action": "check_list", **data})
    assert response.status_code == 200
    return page_text(response)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["3 lines read, 1 valid.", "malformed", "duplicated", "first on line 1"]),
        ("zh-hans", ["格式错误", "重复"]),
    ],
)
def test_a_pasted_list_is_checked_and_its_valid_lines_taken(
    acme: Manufacturer, acme_client: Client, language: str, expected: list[str]
) -> None:
    order = order_with_tokens(acme, delivered=5, number="LIC-PASTE")
    good = uuids_of(order)[0]
    url = reverse("deliveries:initiate", args=[order.number])
    acme_client.cookies["django_language"] = language
    text = _check(acme_client, url, old_uuids=f"{good}\nBAD\n{good}\n")
    for phrase in expected:
        assert phrase in text
    response = acme_client.post(url, {"action": "check_list", "old_uuids": f"{good}\nBAD\n"})
    form = response.context["targeted_form"]
    assert form.initial["quantity"] == 1
    assert form.initial["valid_only"] is True
    taken = acme_client.post(
        url,
        {
            "action": "take_list",
            "product": order.products.order_by("pk")[0].pk,
            "list_key": form.initial["list_key"],
            "quantity": 1,
            "valid_only": "True",
            "idempotency_key": form.initial["idempotency_key"],
        },
    )
    assert taken.status_code == 302
    assert Token.objects.get(uuid=good).status == Token.Status.REPLACED
    assert TokenFile.objects.get(delivery__order=order).targeted


def test_an_uploaded_workbook_is_read_by_its_uuid_column_and_problems_download(
    acme: Manufacturer, acme_client: Client
) -> None:
    order = order_with_tokens(acme, delivered=3, number="LIC-UPLOAD")
    workbook = openpyxl.Workbook()
    workbook.active.append(["Module", "UUID"])
    for index, value in enumerate([*uuids_of(order), "nope"]):
        workbook.active.append([f"m{index}", value])
    content = io.BytesIO()
    workbook.save(content)
    upload = SimpleUploadedFile("modules.xlsx", content.getvalue())
    url = reverse("deliveries:initiate", args=[order.number])
    response = acme_client.post(url, {"action": "check_list", "old_uuids_file": upload})
    check = response.context["check"]
    assert (check.lines, check.valid, check.problem_count) == (4, 3, 1)
    assert check.problems[0].line == 5
    problems = acme_client.get(
        reverse("deliveries:old_uuid_problems", args=[order.number, check.key])
    )
    assert problems.status_code == 200
    rows = list(csv.reader(io.StringIO(problems.getvalue().decode())))
    assert rows == [["line", "value", "problem", "first line"], ["5", "nope", "malformed", ""]]


def test_a_file_of_another_type_is_refused(acme: Manufacturer, acme_client: Client) -> None:
    order = order_with_tokens(acme, delivered=1, number="LIC-PDF")
    url = reverse("deliveries:initiate", args=[order.number])
    upload = SimpleUploadedFile("list.pdf", b"%PDF")
    assert "Upload a .csv, .txt or .xlsx file." in _check(acme_client, url, old_uuids_file=upload)


def test_the_original_license_list_is_offered_and_downloads(
    acme: Manufacturer, acme_client: Client, globex_client: Client
) -> None:
    order = order_with_tokens(acme, delivered=4, number="LIC-ORIG")
    page = acme_client.get(reverse("deliveries:initiate", args=[order.number]))
    assert "Original deliveries" in page_text(page)
    original = order.original_deliveries.get()
    url = reverse("tokens:original_download", args=[original.pk, "csv", 1])
    assert url in page.content.decode()
    response = acme_client.get(url)
    assert response.status_code == 200
    assert f"{order.number}-O001-tokens.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    assert [row[0] for row in rows[1:]] == sorted(
        uuids_of(order), key=lambda u: Token.objects.get(uuid=u).serial
    )
    assert globex_client.get(url).status_code == 404


def test_without_postgresql_the_page_says_so_before_a_list_is_given(
    acme: Manufacturer, acme_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # make run's SQLite cannot check lists: the page tells the user up front, not after a paste.
    from deliveries import old_uuids

    order = order_with_tokens(acme, delivered=5, number="LIC-NOPG")
    url = reverse("deliveries:initiate", args=[order.number])
    assert 'name="old_uuids"' in acme_client.get(url).content.decode()

    class SQLite:
        vendor = "sqlite"

    monkeypatch.setattr(old_uuids, "connection", SQLite())
    html = acme_client.get(url).content.decode()
    assert 'id="list-unsupported"' in html
    assert 'name="old_uuids"' not in html
    assert "checked by PostgreSQL" in html
