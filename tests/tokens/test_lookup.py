"""Token lookup (issue #16): the selector, the portal page, the admin page, and their input."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from orders.models import PurchaseOrder
from refurb_portal.writers import NEW_DELIVERY, service_writes
from tests.conftest import delivered_license_order
from tests.deliveries.conftest import page_text
from tests.deliveries.test_targeted import (
    _remove_stored_files,
    _xlsx,
    made,
    order_with_tokens,
    stored,
    targeted_take,
    uuids_of,
)
from tests.tokens.conftest import take
from tokens.models import Token, TokenReplacement
from tokens.selectors import token_lookup

__all__ = ["_remove_stored_files"]  # the targeted tests' clean-up, for the example below

LOOKUP = "tokens:lookup"
DAY = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def new_uuid() -> str:
    return secrets.token_hex(10)


def issue(order: PurchaseOrder, *, serial: int, **fields: object) -> Token:
    """One token of ``order``'s original delivery (inserted as the job inserts: never updated)."""
    values: dict[str, object] = {
        "order": order,
        "original_delivery": order.original_deliveries.first(),
        "delivery": None,
        "product": order.products.order_by("pk").first(),
        "serial": serial,
        "uuid": new_uuid(),
        "auth_key": secrets.token_hex(16),
    }
    values.update(fields)
    return Token.objects.create(**values)


@dataclass
class Chain:
    """Three generations of one module's credential: ``first`` replaced by ``second``, replaced
    by ``third`` (issued); ``first`` retired on ``DAY``, ``second`` the day after."""

    order: PurchaseOrder
    first: Token
    second: Token
    third: Token


def make_chain(manufacturer: Manufacturer, number: str) -> Chain:
    order = delivered_license_order(manufacturer, number=number)
    first = issue(order, serial=1, status=Token.Status.REPLACED, retired_at=DAY)
    second = issue(
        order,
        serial=2,
        status=Token.Status.REPLACED,
        retired_at=DAY + dt.timedelta(days=1),
        replaces=first,
    )
    third = issue(order, serial=3, replaces=second)
    return Chain(order, first, second, third)


@pytest.fixture
def acme_chain(acme: Manufacturer) -> Chain:
    return make_chain(acme, "LIC-LOOK-ACME")


@pytest.fixture
def globex_chain(globex: Manufacturer) -> Chain:
    return make_chain(globex, "LIC-LOOK-GLOBEX")


# --- The selector ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_uuid_has_its_history_and_both_chains(acme: Manufacturer, acme_chain: Chain) -> None:
    c = acme_chain
    unknown = new_uuid()
    histories = token_lookup(
        uuids=[c.second.uuid, unknown, c.first.uuid, c.third.uuid], manufacturer_id=acme.pk
    )
    assert [h.uuid for h in histories] == [c.second.uuid, unknown, c.first.uuid, c.third.uuid]
    second, missing, first, third = histories
    assert second.token is not None
    assert second.token.pk == c.second.pk
    assert second.token.order_number == "LIC-LOOK-ACME"
    assert second.token.status == Token.Status.REPLACED
    assert (second.earlier, second.later) == ([c.first.uuid], [c.third.uuid])
    assert (first.earlier, first.later) == ([], [c.second.uuid, c.third.uuid])
    assert (third.earlier, third.later) == ([c.second.uuid, c.first.uuid], [])
    assert missing.token is None
    assert (missing.earlier, missing.later) == ([], [])


@pytest.mark.django_db
def test_another_manufacturers_uuid_reads_unknown_through_the_same_query(
    acme: Manufacturer, globex_chain: Chain
) -> None:
    theirs, never = globex_chain.second.uuid, new_uuid()
    with CaptureQueriesContext(connection) as for_theirs:
        (history,) = token_lookup(uuids=[theirs], manufacturer_id=acme.pk)
    with CaptureQueriesContext(connection) as for_never:
        (other,) = token_lookup(uuids=[never], manufacturer_id=acme.pk)
    assert history.token is None
    assert other.token is None
    assert (history.earlier, history.later) == ([], [])
    # One query each, the same statement but for the value asked: no answer and no cost tells
    # "another's" from "never issued".
    assert len(for_theirs) == len(for_never) == 1
    assert for_theirs[0]["sql"].replace(theirs, "?") == for_never[0]["sql"].replace(never, "?")


@pytest.mark.django_db
def test_staff_find_any_manufacturers_tokens(globex_chain: Chain) -> None:
    (history,) = token_lookup(uuids=[globex_chain.second.uuid], manufacturer_id=None)
    assert history.token is not None
    assert history.token.manufacturer_name == "Globex Devices"
    assert history.later == [globex_chain.third.uuid]


@pytest.mark.django_db
def test_a_thousand_uuids_take_two_queries(acme: Manufacturer, acme_chain: Chain) -> None:
    uuids = [acme_chain.second.uuid, *(new_uuid() for _ in range(999))]
    with CaptureQueriesContext(connection) as queries:
        histories = token_lookup(uuids=uuids, manufacturer_id=acme.pk)
    assert len(histories) == 1000
    assert len(queries) == 2  # the tokens, then the chains of those found


def fill_tokens(chain: Chain, count: int) -> None:
    """``count`` more tokens of ``chain``'s order in one ``INSERT ... SELECT`` (as the bench
    fills its table), a tenth of them retired over March 2026, then fresh statistics."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tokens_token (order_id, original_delivery_id, product_id, serial, uuid,
                                      auth_key, status, retired_at)
            SELECT %(order)s, %(delivery)s, %(product)s, 100 + i,
                   substr(md5(i::text || 'lookup'), 1, 20), md5(i::text || 'key'),
                   CASE WHEN i %% 10 = 0 THEN 'revoked' ELSE 'issued' END,
                   CASE WHEN i %% 10 = 0 THEN %(day)s::timestamptz + (i %% 31) * interval '1 day'
                   END
            FROM generate_series(1, %(count)s) AS i
            """,
            {
                "order": chain.order.pk,
                "delivery": chain.first.original_delivery_id,
                "product": chain.first.product_id,
                "day": dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                "count": count,
            },
        )
        cursor.execute("ANALYZE tokens_token")


def plan_of(sql: str, params: object = None) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_the_queries_use_the_uuid_and_retired_at_indexes(
    acme: Manufacturer, acme_chain: Chain
) -> None:
    """With one order holding 20,000 tokens (so its own index would match them all), the lookup
    reads the unique ``uuid`` index and the revocation list the partial ``retired_at`` one."""
    from tokens.selectors import revocation_list

    fill_tokens(acme_chain, 20_000)
    with CaptureQueriesContext(connection) as queries:
        token_lookup(uuids=[acme_chain.first.uuid, new_uuid()], manufacturer_id=acme.pk)
    plan = plan_of(queries[0]["sql"])
    assert "token_unique_uuid" in plan, plan
    listed = revocation_list(
        manufacturer_id=acme.pk, start=DAY, end=DAY + dt.timedelta(days=1)
    ).values_list("uuid")
    plan = plan_of(*listed.query.sql_with_params())
    assert "retired" in plan, plan
    assert "Seq Scan on tokens_token" not in plan, plan


@pytest.mark.django_db
def test_a_replacement_still_being_made_names_its_delivery(
    acme_client: Client, acme_user: User, acme_chain: Chain
) -> None:
    """Between a targeted take and its job, the old token is replaced and its replacement is
    a serial of the new delivery, not yet a token."""
    delivery = take(acme_chain.order, acme_user, 1)
    old = issue(acme_chain.order, serial=7, status=Token.Status.REPLACED, retired_at=DAY)
    with transaction.atomic(), service_writes(NEW_DELIVERY):
        TokenReplacement.objects.create(delivery=delivery, serial=1, old_token=old)
    (history,) = token_lookup(uuids=[old.uuid], manufacturer_id=acme_user.manufacturer_id)
    assert history.later == []
    body = page_text(lookup(acme_client, old.uuid))  # type: ignore[arg-type]
    assert f"New delivery {delivery.number} · its token file is being made" in body


# --- The portal page ---------------------------------------------------------------------------


def lookup(client: Client, text: str = "", **data: object) -> object:
    return client.post(reverse(LOOKUP), {"uuids": text, **data})


@pytest.mark.django_db
def test_the_page_is_in_the_navigation(acme_client: Client) -> None:
    response = acme_client.get(reverse("orders:purchase_order_list"))
    assert reverse(LOOKUP) in response.content.decode()
    page = acme_client.get(reverse(LOOKUP))
    assert page.status_code == 200
    assert 'aria-current="page">Token lookup' in page.content.decode()


@pytest.mark.django_db
def test_pasted_uuids_show_their_histories_and_are_audited(
    acme_client: Client, acme_user: User, acme_chain: Chain, globex_chain: Chain
) -> None:
    c = acme_chain
    text = f"{c.second.uuid}\n{globex_chain.second.uuid.upper()}, {c.second.uuid}\n\n"
    response = lookup(acme_client, text)
    assert response.status_code == 200  # type: ignore[attr-defined]
    body = page_text(response)  # type: ignore[arg-type]
    assert "1 found · 1 unknown · 1 repeated token ID shown once" in body
    assert "Replaced" in body
    assert c.first.uuid in body
    assert c.third.uuid in body
    assert "LIC-LOOK-ACME" in body
    assert "Original delivery" in body
    assert "LIC-LOOK-GLOBEX" not in body
    assert globex_chain.third.uuid not in body
    # The chain links look the neighbour up.
    html = response.content.decode()  # type: ignore[attr-defined]
    assert f'href="{reverse(LOOKUP)}?uuids={c.third.uuid}"' in html
    event = AuditEvent.objects.get(action="tokens.looked_up")
    assert event.actor == acme_user
    assert event.manufacturer_id == acme_user.manufacturer_id
    assert event.details["asked"] == 2
    assert event.details["found"] == 1
    assert event.details["channel"] == "portal"


@pytest.mark.django_db
def test_a_chain_link_looks_up_by_get(acme_client: Client, acme_chain: Chain) -> None:
    response = acme_client.get(reverse(LOOKUP), {"uuids": acme_chain.third.uuid})
    assert response.status_code == 200
    assert "1 found · 0 unknown" in page_text(response)


@pytest.mark.django_db
def test_globex_reads_acmes_uuid_as_unknown(globex_client: Client, acme_chain: Chain) -> None:
    body = page_text(lookup(globex_client, acme_chain.second.uuid))  # type: ignore[arg-type]
    assert "0 found · 1 unknown" in body
    assert "No token of yours has this token ID." in body
    assert "LIC-LOOK-ACME" not in body
    assert acme_chain.third.uuid not in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("list.txt", "{second}\n{third}\n"),
        ("list.csv", "order,uuid,authkey\nX,{second},k\nX,{third},k\n"),
        ("plain.csv", "{second}\n{third}\n"),
    ],
)
def test_an_uploaded_list_is_looked_up(
    acme_client: Client, acme_chain: Chain, name: str, content: str
) -> None:
    text = content.format(second=acme_chain.second.uuid, third=acme_chain.third.uuid)
    upload = SimpleUploadedFile(name, ("\ufeff" + text).encode(), content_type="text/plain")
    response = acme_client.post(reverse(LOOKUP), {"uuids": "", "file": upload})
    assert response.status_code == 200
    assert "2 found · 0 unknown" in page_text(response)


@pytest.mark.django_db
def test_a_license_list_workbook_is_looked_up(acme_client: Client, acme_chain: Chain) -> None:
    """The .xlsx License List itself: its ``uuid`` column, through the same reader as a
    targeted delivery's list."""
    workbook = _xlsx(
        [["uuid", "authkey"], [acme_chain.second.uuid, "k"], [acme_chain.third.uuid, "k"]]
    )
    upload = SimpleUploadedFile("License List.xlsx", workbook.getvalue())
    response = acme_client.post(reverse(LOOKUP), {"uuids": "", "file": upload})
    assert response.status_code == 200
    assert "2 found · 0 unknown" in page_text(response)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_bad_lines_are_listed_and_the_good_ones_looked_up(
    acme_client: Client, acme_user: User, acme_chain: Chain, language: str
) -> None:
    """One malformed line no longer refuses the list: the token IDs are looked up (and
    audited), the other lines are listed with their numbers, in the reader's language."""
    acme_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    text = f"{acme_chain.second.uuid}\nnot-a-token\n\n{acme_chain.third.uuid}, 0d1c-uuid-like\n"
    response = lookup(acme_client, text)
    assert response.status_code == 200  # type: ignore[attr-defined]
    body = page_text(response)  # type: ignore[arg-type]
    english = {
        "count": "2 lines are not token IDs, so they were not looked up:",
        "line 2": "Line 2: “not-a-token”",
        "line 4": "Line 4: “0d1c-uuid-like”",
        "found": "2 found · 0 unknown",
        "what": "A token ID is the 20 lowercase letters and digits in the uuid column",
    }
    chinese = {
        "count": "2 行不是 Token ID，未查询：",  # noqa: RUF001
        "line 2": "第 2 行：“not-a-token”",  # noqa: RUF001
        "line 4": "第 4 行：“0d1c-uuid-like”",  # noqa: RUF001
        "found": "找到 2 个",
        "what": "Token ID 即授权码清单中 uuid 列的 20 位小写字母和数字",
    }
    for what, words in (english if language == "en" else chinese).items():
        assert words in body, what
    assert acme_chain.second.uuid in body
    assert acme_chain.third.uuid in body
    event = AuditEvent.objects.get(action="tokens.looked_up")
    assert event.details["asked"] == 2


@pytest.mark.django_db
def test_a_list_with_no_token_id_lists_its_lines_and_looks_up_nothing(
    acme_client: Client,
) -> None:
    response = lookup(acme_client, "nope\n\nalso-not\n")
    assert response.status_code == 400  # type: ignore[attr-defined]
    body = page_text(response)  # type: ignore[arg-type]
    assert "Line 1: “nope”" in body
    assert "Line 3: “also-not”" in body
    assert not AuditEvent.objects.filter(action="tokens.looked_up").exists()


@pytest.mark.django_db
def test_a_file_that_is_not_utf8_has_its_lines_listed(acme_client: Client) -> None:
    """Bytes that are not UTF-8 make their lines malformed (listed), not the list refused."""
    upload = SimpleUploadedFile("list.txt", "0123456789abcdef0123\n".encode("utf-16"))
    response = acme_client.post(reverse(LOOKUP), {"uuids": "", "file": upload})
    assert response.status_code == 400
    assert "Line 1:" in page_text(response)


BAD_INPUT = [
    # (what, data, English message, Chinese message): a list refused whole, as it cannot be read
    (
        "empty",
        {"uuids": " \n "},
        "Paste at least one token ID",
        "请粘贴至少一个 Token ID",
    ),
    (
        "too many",
        {"uuids": "\n".join(f"{i:020d}" for i in range(1001))},
        "At most 1,000 token IDs a lookup: split the list.",
        "每次最多查询 1,000 个 Token ID：请拆分列表。",  # noqa: RUF001
    ),
    (
        "both",
        {"uuids": "0123456789abcdef0123", "file": ("a.txt", b"0123456789abcdef0123")},
        "Paste token IDs or choose a file, not both.",
        "请粘贴 Token ID 或选择文件，不要两者都用。",  # noqa: RUF001
    ),
    (
        "file type",
        {"file": ("list.pdf", b"%PDF-1.7")},
        "Choose a .txt, .csv or .xlsx file",
        "请选择 .txt、.csv 或 .xlsx 文件",
    ),
    (
        "not a workbook",
        {"file": ("list.xlsx", b"PK\x03\x04")},
        "This file could not be read as an Excel (.xlsx) workbook.",
        "无法将此文件读取为 Excel (.xlsx) 工作簿。",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(
    ("what", "data", "english", "chinese"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT]
)
def test_bad_input_changes_nothing_and_says_why(
    acme_client: Client,
    language: str,
    what: str,
    data: dict[str, object],
    english: str,
    chinese: str,
) -> None:
    acme_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    post = {
        key: SimpleUploadedFile(value[0], value[1]) if isinstance(value, tuple) else value
        for key, value in data.items()
    }
    before = AuditEvent.objects.count()
    response = acme_client.post(reverse(LOOKUP), post)
    assert response.status_code == 400, what
    assert (english if language == "en" else chinese) in page_text(response)
    assert "Results" not in page_text(response)
    assert "结果" not in page_text(response)
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_more_bad_lines_than_shown_are_summed_up(acme_client: Client) -> None:
    text = "\n".join(f"bad{i}" for i in range(125))
    body = page_text(lookup(acme_client, text))  # type: ignore[arg-type]
    assert "125 lines are not token IDs" in body
    assert "Line 100: “bad99”" in body
    assert "Line 101:" not in body
    assert "…and 25 more lines." in body


@pytest.mark.django_db
def test_a_thousand_pasted_uuids_pass_the_request_edges(acme_client: Client) -> None:
    text = "\r\n".join(new_uuid() for _ in range(settings.TOKEN_LOOKUP_MAX_UUIDS))
    response = lookup(acme_client, text)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "0 found · 1000 unknown" in page_text(response)  # type: ignore[arg-type]


@pytest.mark.django_db
def test_the_page_in_chinese(acme_client: Client, acme_chain: Chain) -> None:
    acme_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    body = page_text(lookup(acme_client, acme_chain.second.uuid))  # type: ignore[arg-type]
    assert "Token 查询" in body
    assert "已替换" in body


# --- The admin ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_look_up_any_manufacturers_tokens_in_the_admin(
    staff_client: Client, staff_user: User, acme_chain: Chain, globex_chain: Chain
) -> None:
    url = reverse("admin:tokens_token_lookup")
    response = staff_client.post(
        url, {"uuids": f"{acme_chain.second.uuid}\n{globex_chain.second.uuid}"}
    )
    assert response.status_code == 200
    body = page_text(response)
    assert "2 found · 0 unknown" in body
    assert "Acme Smart Home" in body
    assert "Globex Devices" in body
    event = AuditEvent.objects.get(action="tokens.looked_up")
    assert event.actor == staff_user
    assert event.details["channel"] == "admin"
    changelist = staff_client.get(reverse("admin:tokens_token_changelist"))
    assert url in changelist.content.decode()


@pytest.mark.django_db
def test_the_admin_lookup_lists_bad_lines_too(staff_client: Client, acme_chain: Chain) -> None:
    url = reverse("admin:tokens_token_lookup")
    response = staff_client.post(url, {"uuids": "nope"})
    assert response.status_code == 400
    assert "Line 1: “nope”" in page_text(response)
    assert not AuditEvent.objects.filter(action="tokens.looked_up").exists()
    response = staff_client.post(url, {"uuids": f"nope\n{acme_chain.second.uuid}"})
    assert response.status_code == 200
    body = page_text(response)
    assert "Line 1: “nope”" in body
    assert "1 found · 0 unknown" in body


def test_day_boundaries_follow_the_time_zone() -> None:
    from tokens.lookup_forms import DayRange

    days = DayRange(dt.date(2026, 3, 10), dt.date(2026, 3, 11))
    assert days.start == timezone.make_aware(dt.datetime(2026, 3, 10))
    assert days.end == timezone.make_aware(dt.datetime(2026, 3, 12))


# --- With the targeted take of issue #16 ------------------------------------------------------


@pytest.mark.django_db
def test_the_issue_example_reads_600_replaced_each_with_its_new_token(
    acme: Manufacturer, acme_user: User, acme_client: Client
) -> None:
    """1,000 original tokens, a targeted delivery of 600 listed old UUIDs made: the lookup reads
    those 600 replaced, each with the new token paired with it in the file, and the 400 others
    issued; the new tokens read as issued by the new delivery, replacing their old ones."""
    order = order_with_tokens(acme, delivered=1000, number="LIC-LOOK-600")
    old = uuids_of(order)
    delivery = targeted_take(order, acme_user, stored(order, old[100:700]), 600)
    made(delivery)
    histories = token_lookup(uuids=old, manufacturer_id=acme.pk)
    replaced = [h for h in histories if h.token is not None and h.token.status == "replaced"]
    assert [h.uuid for h in replaced] == old[100:700]
    assert all(h.token is not None and h.token.status == "issued" for h in histories[:100])
    pairs = dict(Token.objects.filter(delivery=delivery).values_list("replaces__uuid", "uuid"))
    assert all(h.later == [pairs[h.uuid]] for h in replaced)
    (new,) = token_lookup(uuids=[pairs[old[100]]], manufacturer_id=acme.pk)
    assert new.token is not None
    assert (new.token.delivery_number, new.earlier) == (delivery.number, [old[100]])
    body = page_text(lookup(acme_client, "\n".join(old[95:105])))  # type: ignore[arg-type]
    assert "10 found · 0 unknown" in body
    assert body.count("Replaced") - body.count("Replaced by") == 5  # five statuses
