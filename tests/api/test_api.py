"""The API over the portal's services: keys, orders, takes, files, problems, limits."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone, translation

from accounts.models import User
from api.errors import ApiError
from api.limits import api_limit_reset
from api.models import ApiKey
from api.services import api_key_revoke
from audit.models import AuditEvent
from deliveries.errors import DeliveryError
from deliveries.models import NewDelivery
from deliveries.selectors import new_delivery_options
from orders.models import PurchaseOrder
from tests.api.conftest import ApiClient, make_key
from tests.api.conftest import take as _take
from tests.conftest import delivered_license_order
from tokens.generation import token_file_generate
from tokens.models import TokenDownload, TokenFile

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"


def test_a_key_is_shown_once_stored_hashed_and_audited(acme_user: User) -> None:
    plaintext = make_key(acme_user, ["read"])
    api_key = ApiKey.objects.get()
    assert plaintext.startswith(f"rpk_{api_key.prefix}_")
    assert api_key.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in str(ApiKey.objects.values().get())
    event = AuditEvent.objects.get(action="api_key.created")
    assert event.details["prefix"] == api_key.prefix
    assert plaintext not in str(event.details)


def test_no_key_a_bad_key_and_a_revoked_key_are_401_problems(
    acme_user: User, seed_order: PurchaseOrder
) -> None:
    plaintext = make_key(acme_user)
    for api in (ApiClient(None), ApiClient("rpk_00000000_nope"), ApiClient("garbage")):
        response = api.get(ORDERS)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "unauthorized"
        assert "Bearer" in response["WWW-Authenticate"]
    assert ApiClient(plaintext).get(ORDERS).status_code == 200
    api_key_revoke(key_id=ApiKey.objects.get().pk, user=acme_user)
    assert ApiClient(plaintext).get(ORDERS).status_code == 401
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_a_key_lacking_the_scope_is_403(acme_user: User, seed_order: PurchaseOrder) -> None:
    api = ApiClient(make_key(acme_user, ["read"]))
    response = _take(api, seed_order)
    assert response.status_code == 403
    assert response.json()["code"] == "scope_missing"
    assert not NewDelivery.objects.exists()


def test_order_list_filters_and_cursor_pages(acme_api: ApiClient, acme_user: User) -> None:
    assert acme_user.manufacturer is not None
    for n in range(5):
        delivered_license_order(acme_user.manufacturer, number=f"LIC-2026-{n:04d}")
    page = acme_api.get(f"{ORDERS}?limit=2").json()
    seen = [o["number"] for o in page["items"]]
    while page["next_cursor"]:
        page = acme_api.get(f"{ORDERS}?limit=2&cursor={page['next_cursor']}").json()
        seen += [o["number"] for o in page["items"]]
    assert seen == [f"LIC-2026-{n:04d}" for n in reversed(range(5))]
    found = acme_api.get(f"{ORDERS}?search=LIC-2026-0003").json()["items"]
    assert [o["number"] for o in found] == ["LIC-2026-0003"]
    bad = acme_api.get(f"{ORDERS}?cursor=bm9wZQ")
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_cursor"


def test_order_detail_explains_the_count_in_the_asked_language(
    acme_key: str, seed_order: PurchaseOrder
) -> None:
    english = ApiClient(acme_key).get(f"{ORDERS}/{seed_order.number}").json()
    assert english["available"] == 600
    assert english["can_take"] is True
    assert len(english["eligible_products"]) == 3
    with translation.override("en"):
        portal = new_delivery_options(order=seed_order).explanation_lines
    assert english["availability"]["explanation"] == " ".join(portal)
    assert "Available: 600 − 0 = 600." in english["availability"]["explanation"]  # noqa: RUF001
    chinese = ApiClient(acme_key, "zh-hans").get(f"{ORDERS}/{seed_order.number}").json()
    assert "600" in chinese["availability"]["explanation"]
    assert chinese["availability"]["explanation"] != english["availability"]["explanation"]


def test_another_manufacturers_objects_are_404(
    acme_api: ApiClient, globex_user: User, acme_user: User
) -> None:
    assert globex_user.manufacturer is not None
    theirs = delivered_license_order(globex_user.manufacturer, number="GLX-0001")
    globex_api = ApiClient(make_key(globex_user))
    delivery_id = _take(globex_api, theirs).json()["id"]
    for path in (
        f"{ORDERS}/{theirs.number}",
        f"{ORDERS}/{theirs.number}/deliveries",
        f"/api/v1/deliveries/{delivery_id}",
        f"/api/v1/deliveries/{delivery_id}/file",
    ):
        response = acme_api.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/problem+json"
    assert _take(acme_api, theirs).status_code == 404
    assert NewDelivery.objects.count() == 1


def test_take_refusals_carry_the_portals_message_and_code(
    acme_key: str, seed_order: PurchaseOrder
) -> None:
    response = _take(ApiClient(acme_key), seed_order, quantity=601)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "quantity_exceeds_available"
    with translation.override("en"):
        assert (
            problem["detail"] == DeliveryError("quantity_exceeds_available", available=600).message
        )
    chinese = _take(ApiClient(acme_key, "zh-hans"), seed_order, quantity=0).json()
    with translation.override("zh-hans"):
        assert chinese["detail"] == DeliveryError("quantity_not_positive").message
    unknown = ApiClient(acme_key).post(
        f"{ORDERS}/{seed_order.number}/deliveries", {"product_id": "nope", "quantity": 1}
    )
    assert unknown.json()["code"] == "product_not_eligible"
    assert not NewDelivery.objects.exists()


@pytest.mark.parametrize("quantity", [True, "2", 2.0, 1e2, 1.5, "abc", None, [2]])
def test_a_quantity_that_is_not_a_json_integer_is_refused_and_takes_nothing(
    acme_key: str, seed_order: PurchaseOrder, quantity: Any
) -> None:
    """Lax parsing took true, "2", 2.0 and 1e2 as quantities and made deliveries of them."""
    product = seed_order.products.order_by("pk").first()
    assert product is not None
    response = ApiClient(acme_key).post(
        f"{ORDERS}/{seed_order.number}/deliveries",
        {"product_id": product.product_id, "quantity": quantity},
    )
    assert response.status_code == 422, response.content
    problem = response.json()
    assert problem["code"] == "invalid_request"
    assert [e["loc"] for e in problem["errors"]] == [["body", "quantity"]]
    assert "Input should" not in problem["detail"]  # pydantic's own words are not passed on
    assert not NewDelivery.objects.exists()


def test_invalid_input_is_explained_in_the_asked_language(
    acme_key: str, seed_order: PurchaseOrder
) -> None:
    response = ApiClient(acme_key, "zh-hans").post(
        f"{ORDERS}/{seed_order.number}/deliveries", {"quantity": 1.5}
    )
    problem = response.json()
    assert response.status_code == 422
    by_field = {e["loc"][-1]: e for e in problem["errors"]}
    assert by_field["product_id"]["type"] == "missing"
    assert by_field["quantity"]["type"] == "int_type"
    with translation.override("zh-hans"):
        assert by_field["product_id"]["msg"] == translation.gettext("This value is required.")
        assert by_field["quantity"]["msg"] == translation.gettext(
            "Enter a whole number (a JSON integer, not text, a fraction or true/false)."
        )
    assert by_field["quantity"]["msg"].startswith("请输入整数")
    assert problem["detail"].startswith("请求无效")
    assert "payload" not in problem["detail"]
    assert "Input should" not in problem["detail"]
    assert not NewDelivery.objects.exists()


def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    acme_api: ApiClient, seed_order: PurchaseOrder
) -> None:
    first = _take(acme_api, seed_order, 5, **{"Idempotency-Key": "mes-run-1"})
    again = _take(acme_api, seed_order, 5, **{"Idempotency-Key": "mes-run-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    other = _take(acme_api, seed_order, 6, **{"Idempotency-Key": "mes-run-1"})
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert NewDelivery.objects.count() == 1
    seed_order.refresh_from_db()
    assert seed_order.new_tokens_delivered == 5


def test_take_then_follow_and_download_with_digest_and_range(
    acme_api: ApiClient, seed_order: PurchaseOrder, acme_user: User
) -> None:
    taken = _take(acme_api, seed_order, 7)
    assert taken.status_code == 201
    location = taken["Location"]
    assert acme_api.get(location).json()["file"]["status"] == "pending"
    not_ready = acme_api.get(f"{location}/file")
    assert not_ready.status_code == 409
    assert not_ready.json()["code"] == "not_ready"
    token_file_generate(token_file_id=TokenFile.objects.get(delivery__isnull=False).pk)
    detail = acme_api.get(location).json()
    assert detail["file"]["status"] == "ready"
    assert detail["file"]["progress"] == 1.0
    whole = acme_api.get(detail["file"]["download_url"])
    assert whole.status_code == 200
    body = b"".join(whole.streaming_content)
    digest = hashlib.sha256(body).digest()
    assert hashlib.sha256(body).hexdigest() == detail["file"]["sha256"]
    expected = f"sha-256=:{base64.b64encode(digest).decode()}:"
    assert whole["Repr-Digest"] == expected == whole["Content-Digest"]
    part = acme_api.get(detail["file"]["download_url"], Range="bytes=10-")
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == body[10:]
    assert part["Content-Range"] == f"bytes 10-{len(body) - 1}/{len(body)}"
    beyond = acme_api.get(detail["file"]["download_url"], Range=f"bytes={len(body)}-")
    assert beyond.status_code == 416
    # The resumed range is not a second download.
    assert TokenDownload.objects.filter(channel="api").count() == 1
    assert AuditEvent.objects.filter(action="tokens.downloaded", actor=acme_user).count() == 1


def test_an_archived_file_answers_409_and_is_made_again(
    acme_api: ApiClient,
    seed_order: PurchaseOrder,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from tokens import tasks
    from tokens.retention import token_file_restore, token_files_purge

    settings.TOKEN_FILE_RETENTION_DAYS = 30
    sent: list[int] = []
    monkeypatch.setattr(tasks.token_file_restore, "delay", sent.append)
    location = _take(acme_api, seed_order, 7)["Location"]
    token_file = token_file_generate(token_file_id=TokenFile.objects.get(delivery__isnull=False).pk)
    assert token_file is not None
    with django_capture_on_commit_callbacks(execute=True):
        token_files_purge(now=timezone.now() + timedelta(days=31))
    with django_capture_on_commit_callbacks(execute=True):
        archived = acme_api.get(f"{location}/file")
    assert archived.status_code == 409
    assert archived.json()["code"] == "archived"
    assert sent == [token_file.pk]
    token_file_restore(token_file_id=token_file.pk)
    again = acme_api.get(f"{location}/file")
    assert again.status_code == 200
    assert hashlib.sha256(b"".join(again.streaming_content)).hexdigest() == token_file.sha256


def test_rate_limit_headers_and_429(acme_api: ApiClient, settings: Any) -> None:
    settings.API_RATE_LIMIT = (2, 60)
    api_limit_reset(key_id=ApiKey.objects.get().pk)
    first = acme_api.get(ORDERS)
    assert first["RateLimit-Policy"] == '"key";q=2;w=60'
    assert first["RateLimit"].startswith('"key";r=1;t=')
    acme_api.get(ORDERS)
    refused = acme_api.get(ORDERS)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1
    assert refused["RateLimit"].startswith('"key";r=0;')


def test_the_limit_fails_open_when_the_cache_is_down(acme_api: ApiClient, settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    # Django's settings fixture resets the cache handlers when CACHES changes, and back after.
    response = acme_api.get(ORDERS)
    assert response.status_code == 200
    assert "RateLimit" not in response


def test_work_orders_through_the_api(acme_api: ApiClient, seed_order: PurchaseOrder) -> None:
    made = acme_api.post(
        "/api/v1/work-orders",
        {
            "type": "tool",
            "order": seed_order.number,
            "description": "Tool, please.",
            "contact": "Jane",
        },
        **{"Idempotency-Key": "wo-1"},
    )
    assert made.status_code == 201
    again = acme_api.post(
        "/api/v1/work-orders",
        {
            "type": "tool",
            "order": seed_order.number,
            "description": "Tool, please.",
            "contact": "Jane",
        },
        **{"Idempotency-Key": "wo-1"},
    )
    assert again.json()["id"] == made.json()["id"]
    work_order_id = made.json()["id"]
    reply = acme_api.post(f"/api/v1/work-orders/{work_order_id}/replies", {"body": "Any news?"})
    assert reply.status_code == 201
    assert [m["body"] for m in reply.json()["messages"]][-1] == "Any news?"
    listed = acme_api.get("/api/v1/work-orders").json()["items"]
    assert [w["id"] for w in listed] == [work_order_id]
    empty = acme_api.post(f"/api/v1/work-orders/{work_order_id}/replies", {"body": "  "})
    assert empty.status_code == 422
    assert empty.json()["code"] == "reply_empty"


def test_unknown_api_paths_are_problem_404s(acme_api: ApiClient) -> None:
    response = acme_api.get("/api/v1/nothing/here")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_revoking_anothers_key_is_refused(acme_user: User, globex_user: User) -> None:
    make_key(acme_user)
    with pytest.raises(ApiError) as refused:
        api_key_revoke(key_id=ApiKey.objects.get().pk, user=globex_user)
    assert refused.value.code == "key_not_found"
