"""The API after a delivery is voided or its file archived, its enums against the models'
choices, and its answer to an error on our side."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.db.models import TextChoices
from django.test import RequestFactory
from django.utils import timezone, translation
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from accounts.models import User
from api import schemas
from api.errors import ApiError
from api.problems import server_error
from api.v1 import _status
from deliveries.services import new_delivery_void
from orders.models import PurchaseOrder
from refurb_client.client import ClientError, RefurbClient
from tests.api.conftest import ApiClient, take
from tokens.errors import TokenFileError
from tokens.generation import token_file_generate
from tokens.models import Token, TokenFile
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db

# (schema, field, the model's choices it declares): every enum-like field of the API's bodies.
ENUMS: list[tuple[type[BaseModel], str, list[str]]] = [
    (schemas.OrderOut, "order_type", PurchaseOrder.OrderType.values),
    (schemas.OrderOut, "status", PurchaseOrder.Status.values),
    (schemas.TokenFileOut, "status", TokenFile.Status.values),
    (schemas.WorkOrderOut, "type", WorkOrder.Type.values),
    (schemas.WorkOrderOut, "status", WorkOrder.Status.values),
    (schemas.WorkOrderIn, "type", WorkOrder.Type.values),
    (
        schemas.RevokedTokenOut,
        "status",
        [s for s in Token.Status.values if s != Token.Status.ISSUED],
    ),
]


def _take_and_void(api: ApiClient, order: PurchaseOrder, user: User, *, made: bool) -> str:
    taken = take(api, order, 3)
    assert taken.status_code == 201
    if made:
        token_file_generate(token_file_id=TokenFile.objects.get(delivery__isnull=False).pk)
    new_delivery_void(delivery_id=taken.json()["id"], user=user, reason="Taken by mistake")
    return str(taken["Location"])


@pytest.mark.parametrize(("schema", "field", "values"), ENUMS)
def test_every_model_choice_is_accepted_and_documented_by_its_schema(
    schema: type[BaseModel], field: str, values: list[str]
) -> None:
    adapter = TypeAdapter(schema.model_fields[field].annotation)
    for value in values:
        assert adapter.validate_python(value) == value
    with pytest.raises(PydanticValidationError):
        adapter.validate_python("no_such_state")
    assert sorted(schema.model_json_schema()["properties"][field]["enum"]) == sorted(values)


@pytest.mark.parametrize("choices", [PurchaseOrder.OrderType, PurchaseOrder.Status])
def test_the_order_filters_accept_every_choice(
    acme_api: ApiClient, choices: type[TextChoices]
) -> None:
    name = "order_type" if choices is PurchaseOrder.OrderType else "status"
    for value in choices.values:
        assert acme_api.get(f"/api/v1/orders?{name}={value}").status_code == 200
    assert acme_api.get(f"/api/v1/orders?{name}=nonsense").status_code == 422


@pytest.mark.parametrize("made", [False, True], ids=["before-its-file", "after-its-file"])
def test_a_voided_delivery_is_listed_and_shown_with_a_voided_file(
    acme_api: ApiClient, seed_order: PurchaseOrder, acme_user: User, made: bool
) -> None:
    location = _take_and_void(acme_api, seed_order, acme_user, made=made)
    pages = [
        acme_api.get("/api/v1/deliveries?limit=2"),
        acme_api.get(f"/api/v1/orders/{seed_order.number}/deliveries"),
    ]
    for page in pages:
        assert page.status_code == 200, page.content
        [item] = page.json()["items"]
        assert item["file"]["status"] == "voided"
        assert item["file"]["download_url"] is None
    detail = acme_api.get(location)
    assert detail.status_code == 200
    assert detail.json()["file"]["status"] == "voided"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_voided_deliverys_file_is_gone_in_the_portals_words(
    acme_key: str, seed_order: PurchaseOrder, acme_user: User, language: str
) -> None:
    api = ApiClient(acme_key, language)
    location = _take_and_void(api, seed_order, acme_user, made=True)
    gone = api.get(f"{location}/file")
    assert gone.status_code == 410
    assert gone["Content-Type"] == "application/problem+json"
    assert "Retry-After" not in gone
    body = gone.json()
    assert (body["status"], body["title"], body["code"]) == (410, "Gone", "voided")
    with translation.override(language):
        assert body["detail"] == TokenFileError("voided").message
    if language == "en":
        assert "voided" in body["detail"]
        assert "can no longer be downloaded" in body["detail"]
        assert "not ready" not in body["detail"]
    else:
        assert "作废" in body["detail"]


def test_a_file_voided_while_it_is_served_is_gone_too() -> None:
    # tokens.services.token_file_download_record raises it under the file's row lock.
    assert _status(TokenFileError("voided")) == 410
    assert _status(TokenFileError("not_ready")) == 409


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_archived_file_is_shown_ready_and_answers_try_again_later(
    acme_key: str,
    seed_order: PurchaseOrder,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    language: str,
) -> None:
    from tokens import tasks
    from tokens.retention import token_files_purge

    settings.TOKEN_FILE_RETENTION_DAYS = 30
    monkeypatch.setattr(tasks.token_file_restore, "delay", lambda *args: None)
    api = ApiClient(acme_key, language)
    location = take(api, seed_order, 3)["Location"]
    token_file_generate(token_file_id=TokenFile.objects.get(delivery__isnull=False).pk)
    with django_capture_on_commit_callbacks(execute=True):
        token_files_purge(now=timezone.now() + timedelta(days=31))
    shown = api.get(location).json()["file"]
    assert shown["status"] == "ready"
    assert shown["download_url"] is not None
    archived = api.get(f"{location}/file")
    assert archived.status_code == 409
    assert archived.json()["code"] == "archived"
    # The detail says "try again in a few minutes": Retry-After agrees.
    assert archived["Retry-After"] == "60"
    with translation.override(language):
        assert archived.json()["detail"] == TokenFileError("archived").message


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_unhandled_error_is_a_problem_500_with_the_request_id_and_is_logged(
    acme_key: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    language: str,
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("api.v1.purchase_order_list", broken)
    api = ApiClient(acme_key, language)
    api.client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = api.get("/api/v1/orders", **{"X-Request-ID": "req-abc-123"})
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert (body["status"], body["code"]) == (500, "server_error")
    assert body["request_id"] == "req-abc-123"
    assert body["title"] == "Internal Server Error"
    with translation.override(language):
        assert body["detail"] == ApiError("server_error", request_id="req-abc-123").message
    assert "req-abc-123" in body["detail"]
    if language != "en":
        with translation.override("en"):
            assert body["detail"] != ApiError("server_error", request_id="req-abc-123").message
    text = response.content.decode()
    assert "secret" not in text
    assert "RuntimeError" not in text
    assert "Traceback" not in text
    # Logged as before: Django's "Internal Server Error" with the traceback and request id.
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is not None
    assert "secret internal detail" in str(record.exc_info[1])
    assert response["X-Request-ID"] == "req-abc-123"


def test_an_unhandled_error_outside_the_api_is_still_the_portals_page(
    rf: RequestFactory,
) -> None:
    response = server_error(rf.get("/purchase/"))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_the_reference_client_stops_waiting_for_a_voided_file() -> None:
    answers = {"id": 5, "file": {"status": "voided"}}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answers))
    slept: list[float] = []
    client = RefurbClient("https://portal.test", "rpk_x", transport=transport, sleep=slept.append)
    with pytest.raises(ClientError, match="voided"):
        client.wait_until_ready(5)
    assert slept == []
