"""A webhook receiver on loopback for tests: verifies every request with the Standard Webhooks
verifier and answers with scripted status codes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Receiver:
    secret: str = ""
    statuses: list[int] = field(default_factory=list)  # answers in turn; then 204
    received: list[dict[str, Any]] = field(default_factory=list)  # every verified request
    accepted: list[dict[str, Any]] = field(default_factory=list)  # those answered 2xx
    refused_signatures: int = 0
    url: str = ""

    def handle(self, body: bytes, headers: dict[str, str]) -> int:
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            self.refused_signatures += 1
            return 401
        entry = {"id": headers.get("webhook-id"), "payload": payload}
        self.received.append(entry)
        status = self.statuses.pop(0) if self.statuses else 204
        if 200 <= status < 300:
            self.accepted.append(entry)
        return status


@contextmanager
def receiver_running() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = receiver.handle(body, dict(self.headers.items()))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        assert not thread.is_alive()


def event_types(entries: list[dict[str, Any]]) -> list[str]:
    return [json.loads(json.dumps(e["payload"]))["type"] for e in entries]
