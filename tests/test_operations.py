"""/healthz, /readyz, /metrics, the request id and the JSON log lines.

"Down" is always a closed port that this test picked (the shared PostgreSQL, Redis and object
store are never stopped); pointing back at the real one shows /readyz recover.
"""

from __future__ import annotations

import io
import json
import logging
import socket
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from accounts.models import User
from audit.models import AuditEvent
from audit.services import audit_record
from orders.models import PurchaseOrder
from refurb_portal import request_id
from refurb_portal.settings.base import private_s3_storage
from tests.deliveries.conftest import take

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def readyz(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get(reverse("readyz"))
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def test_healthz_answers_anyone_without_touching_anything(client: Client) -> None:
    response = client.get(reverse("healthz"))
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_readyz_reports_each_dependency_with_its_time(client: Client) -> None:
    status, body = readyz(client)
    assert status == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "storage"}
    for check in body["checks"].values():
        assert check["ok"] is True
        assert check["ms"] >= 0


def test_readyz_reports_the_broker_down_and_recovers(client: Client, settings: Settings) -> None:
    real = settings.CELERY_BROKER_URL
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    status, body = readyz(client)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["storage"]["ok"] is True
    settings.CELERY_BROKER_URL = real
    assert readyz(client)[0] == 200


def test_readyz_reports_the_object_store_down_and_recovers(
    client: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = settings.STORAGES
    monkeypatch.setenv("PRIVATE_STORAGE_S3_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    settings.STORAGES = {**real, "private": private_s3_storage("refurb-private")}
    status, body = readyz(client)
    assert status == 503
    assert body["checks"]["storage"]["ok"] is False
    assert (body["checks"]["database"]["ok"], body["checks"]["broker"]["ok"]) == (True, True)
    settings.STORAGES = real
    assert readyz(client)[0] == 200


def test_readyz_reports_the_database_down_and_recovers(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the probe's new connection reads the changed port; this test's own stays open.
    monkeypatch.setitem(connections.databases["default"], "PORT", closed_port())
    status, body = readyz(client)
    assert status == 503
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["broker"]["ok"] is True
    monkeypatch.undo()
    assert readyz(client)[0] == 200


def test_metrics_refuse_anonymous_and_wrong_tokens(client: Client, settings: Settings) -> None:
    settings.METRICS_TOKEN = "metrics-token-for-tests"
    url = reverse("metrics")
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert (
        client.get(url, headers={"Authorization": "Basic metrics-token-for-tests"}).status_code
        == 401
    )
    settings.METRICS_TOKEN = ""
    # Not configured: closed to everyone, even to a request that offers an empty token.
    assert client.get(url, headers={"Authorization": "Bearer "}).status_code == 403


def test_metrics_count_takes_refusals_and_files(
    client: Client, settings: Settings, acme_user: User, seed_order: PurchaseOrder
) -> None:
    settings.METRICS_TOKEN = "metrics-token-for-tests"
    auth = {"Authorization": "Bearer metrics-token-for-tests"}

    def sample(text: str, name: str) -> float:
        found = [line for line in text.splitlines() if line.startswith(name + " ")]
        return float(found[0].split()[-1]) if found else 0.0

    before = client.get(reverse("metrics"), headers=auth).content.decode()
    take(seed_order, acme_user, 3)
    audit_record(action="delivery.refused", actor=acme_user, details={"reason": "quota"})
    response = client.get(reverse("metrics"), headers=auth)
    assert response.status_code == 200
    text = response.content.decode()
    taken = 'refurb_delivery_takes_total{outcome="taken",reason=""}'
    refused = 'refurb_delivery_takes_total{outcome="refused",reason="quota"}'
    assert sample(text, taken) == sample(before, taken) + 1
    assert sample(text, refused) == sample(before, refused) + 1
    # One more waiting job than before the take (the seed's original delivery has its own).
    pending = 'refurb_token_files{status="pending"}'
    assert sample(text, pending) == sample(before, pending) + 1
    assert 'refurb_token_files_oldest_waiting_seconds{status="pending"}' in text
    assert "refurb_celery_queue_depth" in text


def test_a_request_id_is_made_or_taken_and_reaches_the_audit_event(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    made = acme_client.get(reverse("healthz"))["X-Request-ID"]
    assert len(made) == 32
    offered = "edge-proxy-4711abcd"
    assert (
        acme_client.get(reverse("healthz"), headers={"X-Request-ID": offered})["X-Request-ID"]
        == offered
    )
    # Not a safe short token: replaced by one of our own.
    odd = acme_client.get(reverse("healthz"), headers={"X-Request-ID": "x" * 200})
    assert odd["X-Request-ID"] != "x" * 200
    response = acme_client.post(
        reverse("accounts:logout"), headers={"X-Request-ID": "logout-request-0001"}
    )
    assert response["X-Request-ID"] == "logout-request-0001"
    event = AuditEvent.objects.get(action="auth.logged_out")
    assert event.request_id == "logout-request-0001"


def test_a_task_sent_during_a_request_carries_its_id() -> None:
    headers: dict[str, Any] = {}
    token = request_id._current.set("request-under-test")
    try:
        request_id._send_request_id(headers=headers)
    finally:
        request_id._current.reset(token)
    assert headers == {request_id.CELERY_HEADER: "request-under-test"}

    class Task:
        class request:
            refurb_request_id = "request-under-test"

    request_id._receive_request_id(task=Task())
    assert request_id.current_request_id() == "request-under-test"
    request_id._forget_request_id()
    request_id._receive_request_id(task=None)
    assert request_id.current_request_id().startswith("task-")
    request_id._forget_request_id()


def test_log_lines_are_json_with_the_request_id() -> None:
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    token = request_id._current.set("log-request-0001")
    try:
        logging.getLogger("tokens.generation").warning("made %s tokens", 5)
    finally:
        request_id._current.reset(token)
        handler.setStream(previous)  # type: ignore[arg-type]
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["message"] == "made 5 tokens"
    assert line["level"] == "WARNING"
    assert line["logger"] == "tokens.generation"
    assert line["request_id"] == "log-request-0001"
