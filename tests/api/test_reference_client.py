"""The reference client's walk against a live server and a real Celery worker: take, wait,
download, verify the SHA-256; then the same Idempotency-Key takes nothing more."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

import pytest

from accounts.models import User
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from refurb_client.__main__ import main
from tests.api.conftest import make_key
from tests.celery_worker import CeleryWorker, celery_worker, celery_worker_factory
from tokens.models import TokenDownload, TokenFile

__all__ = ["celery_worker", "celery_worker_factory"]

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_take_wait_download_and_verify(
    live_server: Any,
    celery_worker: CeleryWorker,
    acme_user: User,
    seed_order: PurchaseOrder,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = make_key(acme_user, ["read", "take", "download"])
    out = tmp_path / "tokens.csv"
    argv = ["--url", live_server.url, "--key", key, "take", "--order", seed_order.number]
    argv += ["--quantity", "100", "--out", str(out), "--timeout", "120"]
    assert main(argv) == 0, celery_worker.log()[-3000:]
    printed = capsys.readouterr().out
    token_file = TokenFile.objects.get(delivery__isnull=False)
    assert token_file.status == "ready"
    assert hashlib.sha256(out.read_bytes()).hexdigest() == token_file.sha256
    assert f"SHA-256 {token_file.sha256} verified" in printed
    rows = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 1 + 100
    assert TokenDownload.objects.filter(channel="api").count() == 1
    # The same key again (a client that crashed after taking): the same delivery, no second.
    idempotency_key = printed.split("Idempotency-Key: ")[1].split()[0]
    again = tmp_path / "again.csv"
    argv2 = [*argv[:-4], "--out", str(again), "--idempotency-key", idempotency_key]
    argv2 += ["--timeout", "60"]
    assert main(argv2) == 0
    assert again.read_bytes() == out.read_bytes()
    assert NewDelivery.objects.count() == 1
    seed_order.refresh_from_db()
    assert seed_order.new_tokens_delivered == 100


def test_a_refusal_is_told_and_exits_1(
    live_server: Any,
    acme_user: User,
    seed_order: PurchaseOrder,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = make_key(acme_user, ["read", "take"])
    argv = ["--url", live_server.url, "--key", key, "take", "--order", seed_order.number]
    assert main([*argv, "--quantity", "601", "--out", str(tmp_path / "x.csv")]) == 1
    assert "quantity_exceeds_available" in capsys.readouterr().err
    assert not NewDelivery.objects.exists()
