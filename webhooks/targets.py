"""Where webhooks may go: public addresses only (no loopback, private or link-local), so the
portal cannot be used to reach internal networks (SSRF). Checked when an endpoint is added and
again before each send, since a name can resolve elsewhere later (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from webhooks.errors import WebhookError


def target_check(url: str) -> None:
    """Raise ``WebhookError`` unless ``url`` is https (http only where private targets are
    allowed, for tests) and every address its host resolves to is public."""
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE_TARGETS
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise WebhookError("url_scheme")
    host = parts.hostname
    if not host:
        raise WebhookError("url_invalid")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise WebhookError("target_unresolvable", host=host) from exc
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global or address.is_multicast:
            raise WebhookError("target_refused", host=host)
