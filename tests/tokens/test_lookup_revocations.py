"""The revocation list (issue #16): the portal download, the admin's, and their dates."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import User
from audit.models import AuditEvent
from tests.deliveries.conftest import page_text
from tests.tokens.test_lookup import DAY, Chain, acme_chain, globex_chain, issue
from tokens.models import Token
from tokens.selectors import REVOCATION_COLUMNS

__all__ = ["acme_chain", "globex_chain"]  # fixtures used here

LIST = "tokens:revocation_list"


def download(client: Client, first: str, last: str, file_format: str = "csv") -> object:
    return client.get(
        reverse(LIST), {"date_from": first, "date_to": last, "file_format": file_format}
    )


def csv_rows(response: StreamingHttpResponse) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.django_db
def test_the_days_replaced_and_revoked_uuids_stream_as_csv(
    acme_client: Client, acme_user: User, acme_chain: Chain, globex_chain: Chain
) -> None:
    revoked = issue(
        acme_chain.order,
        serial=4,
        status=Token.Status.REVOKED,
        retired_at=DAY + dt.timedelta(hours=11, minutes=59),  # 23:59 UTC, still that day
    )
    issue(
        acme_chain.order,
        serial=5,
        status=Token.Status.REVOKED,
        retired_at=DAY + dt.timedelta(days=2),
    )
    response = download(acme_client, "2026-03-10", "2026-03-10")
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"] == (
        'attachment; filename="revoked-uuids-20260310-20260310.csv"'
    )
    rows = csv_rows(response)
    assert rows[0] == REVOCATION_COLUMNS
    assert rows[1:] == [
        [acme_chain.first.uuid, "replaced", "2026-03-10T12:00:00Z", "LIC-LOOK-ACME",
         acme_chain.first.product.product_id, acme_chain.second.uuid],
        [revoked.uuid, "revoked", "2026-03-10T23:59:00Z", "LIC-LOOK-ACME",
         revoked.product.product_id, ""],
    ]  # fmt: skip
    two_days = [row[0] for row in csv_rows(download(acme_client, "2026-03-10", "2026-03-11"))]  # type: ignore[arg-type]
    assert two_days == ["uuid", acme_chain.first.uuid, revoked.uuid, acme_chain.second.uuid]
    assert globex_chain.first.uuid not in two_days  # Globex's, the same day
    event = AuditEvent.objects.filter(action="tokens.revocation_list").first()
    assert event is not None
    assert event.actor == acme_user
    assert event.details == {
        "from": "2026-03-10", "to": "2026-03-11", "format": "csv", "channel": "portal"
    }  # fmt: skip


@pytest.mark.django_db
def test_the_list_as_xlsx(acme_client: Client, acme_chain: Chain) -> None:
    response = download(acme_client, "2026-03-10", "2026-03-11", "xlsx")
    assert response.status_code == 200  # type: ignore[attr-defined]
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == REVOCATION_COLUMNS
    assert [row[0] for row in rows[1:]] == [acme_chain.first.uuid, acme_chain.second.uuid]
    assert rows[2][5] == acme_chain.third.uuid


@pytest.mark.django_db
def test_an_empty_range_is_a_header_only(acme_client: Client, acme_chain: Chain) -> None:
    assert csv_rows(download(acme_client, "2025-01-01", "2025-01-31")) == [REVOCATION_COLUMNS]  # type: ignore[arg-type]


@pytest.mark.django_db
def test_the_form_proposes_today(acme_client: Client) -> None:
    response = acme_client.get(reverse(LIST))
    assert response.status_code == 200
    assert "Revocation list" in page_text(response)
    assert not AuditEvent.objects.filter(action="tokens.revocation_list").exists()


BAD_DATES = [
    # (what, from, to, English, Chinese)
    ("reversed", "2026-03-11", "2026-03-10", "The end date is before the start date.",
     "结束日期早于开始日期。"),
    ("too long", "2025-01-01", "2026-03-10", "At most 366 days at a time",
     "一次最多 366 天"),
    ("malformed", "2026-13-01", "2026-03-10", "Enter a valid date.", "输入一个有效的日期。"),
    ("missing", "", "2026-03-10", "This field is required.", "这个字段是必填项。"),
    ("far off", "1999-12-31", "2000-01-01", "Choose days between 2000-01-01 and 2999-12-31.",
     "请选择 2000-01-01 至 2999-12-31 之间的日期。"),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(
    ("what", "first", "last", "english", "chinese"), BAD_DATES, ids=[b[0] for b in BAD_DATES]
)
def test_bad_dates_download_nothing_and_say_why(
    acme_client: Client, language: str, what: str, first: str, last: str, english: str, chinese: str
) -> None:
    acme_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = download(acme_client, first, last)
    assert response.status_code == 400, what  # type: ignore[attr-defined]
    assert response["Content-Type"].startswith("text/html")  # type: ignore[index]
    assert (english if language == "en" else chinese) in page_text(response)  # type: ignore[arg-type]
    assert not AuditEvent.objects.filter(action="tokens.revocation_list").exists()


@pytest.mark.django_db
def test_staff_list_every_manufacturer_in_the_admin(
    staff_client: Client, acme_chain: Chain, globex_chain: Chain
) -> None:
    url = reverse("admin:tokens_token_revocation_list")
    assert staff_client.get(url).status_code == 200
    response = staff_client.get(
        url, {"date_from": "2026-03-10", "date_to": "2026-03-10", "file_format": "csv"}
    )
    listed = {row[0] for row in csv_rows(response)}  # type: ignore[arg-type]
    assert {acme_chain.first.uuid, globex_chain.first.uuid} <= listed
    assert AuditEvent.objects.get(action="tokens.revocation_list").details["channel"] == "admin"
    bad = staff_client.get(url, {"date_from": "2026-03-11", "date_to": "2026-03-10"})
    assert bad.status_code == 400
    assert "The end date is before the start date." in page_text(bad)


# The trial's case: acme is UTC+8; a token retired at 17:26 UTC on 1 December is retired at
# 01:26 on 2 December there.
RETIRED = dt.datetime(2026, 12, 1, 17, 26, tzinfo=dt.UTC)


@pytest.fixture
def shanghai_client(acme_client: Client, acme_user: User) -> Client:
    acme_user.time_zone = "Asia/Shanghai"
    acme_user.save(update_fields=["time_zone"])
    return acme_client


@pytest.mark.django_db
def test_the_days_are_the_users_as_the_page_says(
    shanghai_client: Client, acme_chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One meaning throughout: the user's zone for the text, the proposed days, the filter and
    the file's name; retired_at stays an instant written in UTC, as the page says."""
    token = issue(acme_chain.order, serial=4, status=Token.Status.REVOKED, retired_at=RETIRED)
    monkeypatch.setattr("django.utils.timezone.now", lambda: RETIRED)
    page = shanghai_client.get(reverse(LIST))
    text = page_text(page)
    assert "in your time zone: Asia/Shanghai" in text
    assert "retired_at (an instant in UTC)" in text
    form = page.context["form"]
    assert form["date_from"].value() == form["date_to"].value() == dt.date(2026, 12, 2)

    response = download(shanghai_client, "2026-12-02", "2026-12-02")
    assert response["Content-Disposition"] == (  # type: ignore[index]
        'attachment; filename="revoked-uuids-20261202-20261202.csv"'
    )
    rows = csv_rows(response)  # type: ignore[arg-type]
    assert [row[:3] for row in rows[1:]] == [[token.uuid, "revoked", "2026-12-01T17:26:00Z"]]
    day_before = csv_rows(download(shanghai_client, "2026-12-01", "2026-12-01"))  # type: ignore[arg-type]
    assert token.uuid not in [row[0] for row in day_before]


@pytest.mark.django_db
def test_the_days_of_a_user_in_utc_end_at_utc_midnight(
    acme_client: Client, acme_user: User, acme_chain: Chain
) -> None:
    acme_user.time_zone = "UTC"
    acme_user.save(update_fields=["time_zone"])
    token = issue(acme_chain.order, serial=4, status=Token.Status.REVOKED, retired_at=RETIRED)
    on_the_first = csv_rows(download(acme_client, "2026-12-01", "2026-12-01"))  # type: ignore[arg-type]
    assert token.uuid in [row[0] for row in on_the_first]
    on_the_second = csv_rows(download(acme_client, "2026-12-02", "2026-12-02"))  # type: ignore[arg-type]
    assert token.uuid not in [row[0] for row in on_the_second]


def test_the_api_days_stay_utc_whatever_zone_is_active() -> None:
    """docs/api.md: the API's days are UTC (``day_range_check`` without a zone)."""
    from django.utils import timezone

    from tokens.lookup_forms import day_range_check

    with timezone.override("Asia/Shanghai"):
        days = day_range_check(dt.date(2026, 12, 2), dt.date(2026, 12, 2))
    assert days.start == dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
    assert days.end == dt.datetime(2026, 12, 3, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_a_list_whose_rows_cannot_be_read_is_an_error_not_an_empty_file(
    acme_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_rows(**_: object) -> Iterator[tuple[object, ...]]:
        raise RuntimeError("the database refused the query")
        yield ()  # a generator, as a server-side cursor's rows are

    monkeypatch.setattr("tokens.lookup_views.revocation_rows", failing_rows)
    client = Client(raise_request_exception=False)
    client.force_login(acme_user)
    assert download(client, "2026-12-01", "2026-12-01").status_code == 500  # type: ignore[attr-defined]
