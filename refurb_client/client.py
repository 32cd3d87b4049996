"""Take a new delivery, wait for its token file, download it and check its SHA-256.

Only the public API is used (``/api/v1/``, its OpenAPI schema at ``/api/v1/openapi.json``), with
httpx. Every step is safe to run again: the take carries an Idempotency-Key (print it, and pass
it back with ``--idempotency-key`` after a crash to get the same delivery, not a second one), and
an interrupted download resumes with an HTTP Range request.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CHUNK = 64 * 1024


class ClientError(Exception):
    """A refusal of the portal (its RFC 9457 problem ``detail``) or a failed check here."""


@dataclass(frozen=True)
class Downloaded:
    delivery_id: int
    path: Path
    sha256: str
    size: int


class RefurbClient:
    """The API with one key; ``base_url`` is the portal's address (``https://portal.example``)."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        language: str = "en",
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {key}", "Accept-Language": language},
            timeout=30,
            transport=transport,
        )
        self.sleep = sleep

    def _json(self, response: httpx.Response) -> Any:
        if response.is_success:
            return response.json()
        try:
            problem = response.json()
            raise ClientError(f"{response.status_code} {problem['code']}: {problem['detail']}")
        except (ValueError, KeyError):
            raise ClientError(f"{response.status_code}: {response.text[:200]}") from None

    def order(self, number: str) -> dict[str, Any]:
        return dict(self._json(self.http.get(f"/orders/{number}")))

    def take(
        self, *, order: str, quantity: int, product_id: str | None, idempotency_key: str
    ) -> dict[str, Any]:
        """Take ``quantity`` tokens (of the order's first eligible product unless given)."""
        if product_id is None:
            eligible = self.order(order)["eligible_products"]
            if not eligible:
                raise ClientError(f"order {order} has no eligible product")
            product_id = eligible[0]["product_id"]
        response = self.http.post(
            f"/orders/{order}/deliveries",
            json={"product_id": product_id, "quantity": quantity},
            headers={"Idempotency-Key": idempotency_key},
        )
        return dict(self._json(response))

    def wait_until_ready(
        self, delivery_id: int, *, timeout: float = 600, poll: float = 1.0
    ) -> dict[str, Any]:
        """Poll the delivery until its file is ready (failed, or voided with its delivery:
        ``ClientError``, at once)."""
        deadline = time.monotonic() + timeout
        while True:
            delivery = self._json(self.http.get(f"/deliveries/{delivery_id}"))
            state = (delivery.get("file") or {}).get("status")
            if state == "ready":
                return dict(delivery)
            if state == "failed":
                raise ClientError(f"the token file of delivery {delivery_id} failed")
            if state == "voided":
                raise ClientError(f"delivery {delivery_id} was voided: its file will never come")
            if time.monotonic() > deadline:
                raise ClientError(f"the token file of delivery {delivery_id} is not ready yet")
            self.sleep(poll)
            poll = min(poll * 1.5, 10)

    def download(self, delivery: dict[str, Any], out: Path) -> Downloaded:
        """Stream the file to ``out`` (resuming a partial ``out.part``), then check its SHA-256
        against the delivery's and the ``Repr-Digest`` header (RFC 9530)."""
        file = delivery["file"]
        partial = out.with_name(out.name + ".part")
        have = partial.stat().st_size if partial.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with self.http.stream("GET", f"/deliveries/{delivery['id']}/file", headers=headers) as r:
            if r.status_code not in (200, 206):
                r.read()
                self._json(r)
            mode = "ab" if r.status_code == 206 else "wb"
            digest_header = r.headers.get("Repr-Digest", "")
            with partial.open(mode) as handle:
                for chunk in r.iter_bytes(CHUNK):
                    handle.write(chunk)
        sha = hashlib.sha256()
        with partial.open("rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                sha.update(block)
        hexdigest = sha.hexdigest()
        announced = "sha-256=:" + base64.b64encode(sha.digest()).decode() + ":"
        if hexdigest != file["sha256"] or (digest_header and digest_header != announced):
            raise ClientError(f"SHA-256 mismatch: got {hexdigest}, expected {file['sha256']}")
        partial.replace(out)
        return Downloaded(delivery["id"], out, hexdigest, out.stat().st_size)

    def take_and_download(
        self,
        *,
        order: str,
        quantity: int,
        out: Path,
        product_id: str | None = None,
        idempotency_key: str | None = None,
        timeout: float = 600,
        log: Callable[[str], None] = print,
    ) -> Downloaded:
        key = idempotency_key or str(uuid.uuid4())
        log(f"Idempotency-Key: {key}")
        taken = self.take(
            order=order, quantity=quantity, product_id=product_id, idempotency_key=key
        )
        log(f"Delivery {taken['order']}-{taken['number']} (id {taken['id']}): {quantity} tokens")
        delivery = self.wait_until_ready(taken["id"], timeout=timeout)
        result = self.download(delivery, out)
        log(f"{out}: {result.size} bytes, SHA-256 {result.sha256} verified")
        return result
