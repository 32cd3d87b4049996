"""Reads of the audit trail. A manufacturer reads only its own company's events."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from audit.actions import action_label
from audit.models import AuditEvent

if TYPE_CHECKING:
    # Typing only: audit sits below accounts in the stack of apps (tests/test_layers.py).
    from accounts.models import Manufacturer


def activity_for_manufacturer(
    *,
    manufacturer: Manufacturer,
    action: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    order: str = "",
) -> QuerySet[AuditEvent]:
    """The company's events, newest first, optionally of one action, within dates
    (inclusive, in the active time zone's days) and of one order (``order``: its number; the
    events recorded on the order and those whose details name it: deliveries, downloads, work
    orders)."""
    events = AuditEvent.objects.filter(manufacturer=manufacturer)
    if order:
        events = events.filter(
            Q(object_type="orders.PurchaseOrder", object_repr=order) | Q(details__order=order)
        )
    if action:
        events = events.filter(action=action)
    if date_from:
        events = events.filter(occurred_at__date__gte=date_from)
    if date_to:
        events = events.filter(occurred_at__date__lte=date_to)
    return events.order_by("-occurred_at", "-id")


def activity_actions(*, manufacturer: Manufacturer) -> list[tuple[str, str]]:
    """The actions that occur in the company's events, as (code, translated label)."""
    codes = (
        AuditEvent.objects.filter(manufacturer=manufacturer)
        .order_by()
        .values_list("action", flat=True)
        .distinct()
    )
    return sorted(((code, action_label(code)) for code in codes), key=lambda pair: pair[1])


# The previous hash of the first event (migration audit.0003).
CHAIN_GENESIS = "0" * 64
CHAIN_BREAKS: dict[str, Promise] = {
    "position": _("an event is missing or out of place"),
    "link": _("an event does not follow on from the one before it"),
    "content": _("an event's content was changed after it was recorded"),
}


@dataclass(frozen=True)
class ChainState:
    """The audit chain as ``audit_chain_verify`` found it.

    ``kept`` is False where no chain is kept (SQLite, ``make run``); ``checked`` counts the
    events found intact before ``broken_at`` (the chain position of the first bad event, or
    None); ``reason`` is a code of ``CHAIN_BREAKS``.
    """

    kept: bool
    checked: int = 0
    broken_at: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.kept and self.broken_at is None

    @property
    def reason_text(self) -> str:
        return str(CHAIN_BREAKS[self.reason]) if self.reason else ""


def audit_chain_verify(*, batch: int = 2000) -> ChainState:
    """Walk the whole chain in order and stop at the first event that does not check out: its
    position not the next one (a row deleted or inserted around the trigger), its previous hash
    not the hash before it, or its hash not SHA-256 over the previous hash and the row's
    canonical content (PostgreSQL's ``audit_event_canonical``, the same text the insert trigger
    hashed). Reads in batches of ``batch`` rows through a server-side cursor, so memory stays
    flat however long the trail. Events removed from the end leave no trace here: the hash of
    the last event, kept elsewhere, is what would show that.
    """
    if connection.vendor != "postgresql":
        return ChainState(kept=False)
    previous = CHAIN_GENESIS
    checked = 0
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(
            "SELECT e.chain_position, e.previous_hash, e.hash, audit_event_canonical(e) "
            "FROM audit_auditevent e ORDER BY e.chain_position"
        )
        while rows := cursor.fetchmany(batch):
            for position, previous_hash, stored_hash, canonical in rows:
                reason = ""
                if position != checked + 1:
                    reason = "position"
                elif previous_hash != previous:
                    reason = "link"
                elif (
                    hashlib.sha256((previous_hash + canonical).encode()).hexdigest() != stored_hash
                ):
                    reason = "content"
                if reason:
                    return ChainState(kept=True, checked=checked, broken_at=position, reason=reason)
                previous = stored_hash
                checked += 1
    return ChainState(kept=True, checked=checked)
