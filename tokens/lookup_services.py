"""The audit records of the token lookup and the revocation list (reads worth a trace: who
asked about which credentials, who took the list of retired ones)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest

from accounts.models import User
from audit.models import AuditEvent
from audit.services import audit_record

# Examples kept in an event: enough to answer "did they ask about this one?" for a short list,
# without copying a 1,000-line list into the trail.
UUIDS_KEPT = 20


def token_lookup_record(
    *, user: User, request: HttpRequest | None, uuids: list[str], found: int, channel: str
) -> AuditEvent:
    """Record one lookup: how many UUIDs were asked, how many were found (the asker's own, or
    any for staff), the first ``UUIDS_KEPT`` asked, and the door (``portal``, ``admin``)."""
    return audit_record(
        action="tokens.looked_up",
        actor=user,
        request=request,
        details={
            "asked": len(uuids),
            "found": found,
            "uuids": uuids[:UUIDS_KEPT],
            "channel": channel,
        },
    )


def revocation_list_record(
    *,
    user: User,
    request: HttpRequest | None,
    first: dt.date,
    last: dt.date,
    file_format: str,
    channel: str,
) -> AuditEvent:
    """Record one revocation-list download (or, for the API, its first page): the days asked
    (inclusive), the format and the door (``portal``, ``admin``, ``api``)."""
    return audit_record(
        action="tokens.revocation_list",
        actor=user,
        request=request,
        details={
            "from": first.isoformat(),
            "to": last.isoformat(),
            "format": file_format,
            "channel": channel,
        },
    )
