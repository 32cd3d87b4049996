"""GET /api/v1/revocations (issue #16): the revocation list for a cloud service."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import User
from audit.models import AuditEvent
from tests.api.conftest import ApiClient, make_key
from tests.tokens.test_lookup import DAY, Chain, acme_chain, globex_chain, issue
from tokens.models import Token

__all__ = ["acme_chain", "globex_chain"]  # fixtures used here

URL = "/api/v1/revocations"


@pytest.mark.django_db
def test_pages_of_the_days_retired_uuids_newest_first(
    acme_api: ApiClient, acme_user: User, acme_chain: Chain, globex_chain: Chain
) -> None:
    revoked = [
        issue(
            acme_chain.order,
            serial=10 + i,
            status=Token.Status.REVOKED,
            retired_at=DAY + dt.timedelta(minutes=i + 1),
        )
        for i in range(3)
    ]
    first = acme_api.get(f"{URL}?from=2026-03-10&to=2026-03-11&limit=2")
    assert first.status_code == 200, first.content
    page = first.json()
    assert [item["uuid"] for item in page["items"]] == [acme_chain.second.uuid, revoked[2].uuid]
    assert page["items"][0] == {
        "uuid": acme_chain.second.uuid,
        "status": "replaced",
        "retired_at": "2026-03-11T12:00:00Z",
        "order": "LIC-LOOK-ACME",
        "product_id": acme_chain.second.product.product_id,
        "replaced_by": acme_chain.third.uuid,
    }
    seen = [item["uuid"] for item in page["items"]]
    cursor = page["next_cursor"]
    while cursor:
        page = acme_api.get(f"{URL}?from=2026-03-10&to=2026-03-11&limit=2&cursor={cursor}").json()
        seen += [item["uuid"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [
        acme_chain.second.uuid, revoked[2].uuid, revoked[1].uuid, revoked[0].uuid,
        acme_chain.first.uuid,
    ]  # fmt: skip
    assert globex_chain.first.uuid not in seen
    # One audit event for the listing, however many pages.
    (event,) = AuditEvent.objects.filter(action="tokens.revocation_list")
    assert event.actor == acme_user
    assert event.details == {
        "from": "2026-03-10", "to": "2026-03-11", "format": "json", "channel": "api"
    }  # fmt: skip


@pytest.mark.django_db
def test_globex_lists_only_its_own(
    globex_user: User, acme_chain: Chain, globex_chain: Chain
) -> None:
    api = ApiClient(make_key(globex_user, ["read"]))
    items = api.get(f"{URL}?from=2026-03-10&to=2026-03-11").json()["items"]
    assert [item["uuid"] for item in items] == [globex_chain.second.uuid, globex_chain.first.uuid]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "english", "chinese"),
    [
        ("from=2026-03-11&to=2026-03-10", "The end date is before the start date.",
         "结束日期早于开始日期。"),
        ("from=2024-01-01&to=2026-03-10", "At most 366 days at a time", "一次最多 366 天"),
        ("from=0001-01-01&to=9999-12-31", "Choose days between 2000-01-01 and 2999-12-31.",
         "请选择 2000-01-01 至 2999-12-31 之间的日期。"),
    ],
)  # fmt: skip
def test_bad_days_are_422_in_the_callers_language(
    acme_key: str, query: str, english: str, chinese: str
) -> None:
    for language, text in (("en", english), ("zh-hans", chinese)):
        response = ApiClient(acme_key, language).get(f"{URL}?{query}")
        assert response.status_code == 422
        assert response["Content-Type"] == "application/problem+json"
        assert text in response.json()["detail"]
    assert not AuditEvent.objects.filter(action="tokens.revocation_list").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "from=2026-03-10", "from=2026-02-30&to=2026-03-10",
                                   "from=2026-03-10&to=2026-03-10&limit=1001"])  # fmt: skip
def test_missing_or_malformed_days_are_422(acme_api: ApiClient, query: str) -> None:
    response = acme_api.get(f"{URL}?{query}")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
