"""Reads of the audit trail. A manufacturer reads only its own company's events."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from audit.actions import action_label
from audit.models import PLATFORM_STAFF_NAME, AuditEvent

if TYPE_CHECKING:
    # Typing only: audit sits below accounts in the stack of apps (tests/test_layers.py).
    from accounts.models import Manufacturer


# The person filter's value for every member of platform staff at once (no user has id 0).
PLATFORM_STAFF = 0


def by_platform_staff() -> Exists:
    """Whether an event's user belongs to no company: platform staff, whom a manufacturer
    reads as "Platform staff", never by their user names (as on work orders)."""
    return Exists(
        get_user_model().objects.filter(pk=OuterRef("actor_id"), manufacturer__isnull=True)
    )


def activity_for_manufacturer(
    *,
    manufacturer: Manufacturer,
    actor_id: int | None = None,
    action: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    order: str = "",
) -> QuerySet[AuditEvent]:
    """The company's events, newest first, optionally by one person (a user id), of one action,
    within dates (inclusive, in the active time zone's days) and of one order (``order``: its
    number; the events recorded on the order and those whose details name it: deliveries,
    downloads, work orders). ``actor_id`` ``PLATFORM_STAFF`` selects every staff member's
    events; each event has ``by_staff`` (``AuditEvent.who`` names its user)."""
    events = AuditEvent.objects.filter(manufacturer=manufacturer).annotate(
        by_staff=by_platform_staff()
    )
    if actor_id == PLATFORM_STAFF:
        events = events.filter(by_staff=True)
    elif actor_id:
        events = events.filter(actor_id=actor_id)
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


def activity_people(*, manufacturer: Manufacturer) -> list[tuple[int, str]]:
    """The people who appear in the company's events, as (user id, name recorded), by name;
    platform staff, if any acted, as one entry (``PLATFORM_STAFF``, "Platform staff") last.
    Events with no user (a job, an unknown name) are not a person."""
    rows = list(
        AuditEvent.objects.filter(manufacturer=manufacturer, actor_id__isnull=False)
        .annotate(by_staff=by_platform_staff())
        .order_by()
        .values_list("actor_id", "actor_username", "by_staff")
        .distinct()
    )
    people = {pk: name or str(pk) for pk, name, staff in rows if not staff}
    listed = sorted(people.items(), key=lambda pair: (pair[1].lower(), pair[0]))
    if any(staff for _pk, _name, staff in rows):
        listed.append((PLATFORM_STAFF, str(PLATFORM_STAFF_NAME)))
    return listed


# The previous hash of the first event (migration audit.0003).
CHAIN_GENESIS = "0" * 64
CHAIN_BREAKS: dict[str, Promise] = {
    "position": _("an event is missing or out of place"),
    "link": _("an event does not follow on from the one before it"),
    "content": _("an event's content was changed after it was recorded"),
    "unsealed": _("an event has waited longer than it may to be sealed into the chain"),
}


@dataclass(frozen=True)
class ChainState:
    """The audit chain as ``audit_chain_verify`` found it.

    ``kept`` is False where no chain is kept (SQLite, ``make run``); ``checked`` counts the
    sealed events found intact before ``broken_at`` (the chain position of the first bad event,
    or None); ``reason`` is a code of ``CHAIN_BREAKS``. ``last_hash`` is the hash of the last
    intact event; ``walked`` how many events this check read (all of them on a full walk, only
    the new ones when it went on from a checkpoint). ``unsealed`` counts the committed events
    not yet sealed (no position yet: they are not breaks), ``overdue`` those of them older than
    ``AUDIT_SEAL_MAX_DELAY`` seconds, the oldest of which is event ``overdue_id``: then the
    chain is not intact (reason ``unsealed``; nothing seals, or the sealer fails).
    """

    kept: bool
    checked: int = 0
    broken_at: int | None = None
    reason: str = ""
    last_hash: str = CHAIN_GENESIS
    walked: int = 0
    unsealed: int = 0
    overdue: int = 0
    overdue_id: int | None = None

    @property
    def links_intact(self) -> bool:
        """Every sealed event checks out (events may still wait to be sealed)."""
        return self.kept and self.broken_at is None

    @property
    def intact(self) -> bool:
        return self.links_intact and not self.overdue

    @property
    def reason_text(self) -> str:
        return str(CHAIN_BREAKS[self.reason]) if self.reason else ""

    @property
    def incremental(self) -> bool:
        return self.walked < self.checked


def audit_chain_verify(*, batch: int = 2000, since: ChainState | None = None) -> ChainState:
    """Walk the sealed events in chain order and stop at the first that does not check out: its
    position not the next one (a row deleted or inserted around the trigger), its previous hash
    not the hash before it, or its hash not SHA-256 over the previous hash and the row's
    canonical content (PostgreSQL's ``audit_event_canonical``, the same text the sealing
    trigger hashed). Reads in batches of ``batch`` rows through a server-side cursor, so memory
    stays flat however long the trail. Events removed from the end leave no trace here: the
    hash of the last event, kept elsewhere, is what would show that. Then counts the events not
    yet sealed, and those of them older than ``settings.AUDIT_SEAL_MAX_DELAY`` (``overdue``:
    the chain is then not intact). Reads only; sealing is ``audit.services.audit_seal``.

    ``since``, a state found before with its sealed events intact, goes on from its last event
    instead of the first, provided that event is still there with the same hash (else the whole
    chain is walked).
    """
    if connection.vendor != "postgresql":
        return ChainState(kept=False)
    previous, checked = CHAIN_GENESIS, 0
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        if since is not None and since.links_intact and since.checked and _still_there(since):
            previous, checked = since.last_hash, since.checked
        cursor.execute(
            "SELECT e.chain_position, e.previous_hash, e.hash, audit_event_canonical(e) "
            "FROM audit_auditevent e WHERE e.chain_position > %s ORDER BY e.chain_position",
            [checked],
        )
        start = checked
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
                    return ChainState(
                        kept=True,
                        checked=checked,
                        broken_at=position,
                        reason=reason,
                        last_hash=previous,
                        walked=checked - start + 1,
                    )
                previous = stored_hash
                checked += 1
    unsealed, overdue, overdue_id = _unsealed()
    return ChainState(
        kept=True,
        checked=checked,
        last_hash=previous,
        walked=checked - start,
        reason="unsealed" if overdue else "",
        unsealed=unsealed,
        overdue=overdue,
        overdue_id=overdue_id,
    )


def _unsealed() -> tuple[int, int, int | None]:
    """The committed events not yet sealed, those older than the sealing delay, and the id of
    the oldest of those (one read of the partial index ``audit_event_unsealed``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE occurred_at < now() - %s * interval '1 s'), "
            "min(id) FILTER (WHERE occurred_at < now() - %s * interval '1 s') "
            "FROM audit_auditevent WHERE chain_position IS NULL",
            [settings.AUDIT_SEAL_MAX_DELAY] * 2,
        )
        unsealed, overdue, overdue_id = cursor.fetchone()
    return int(unsealed), int(overdue), overdue_id


def _still_there(state: ChainState) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT hash FROM audit_auditevent WHERE chain_position = %s", [state.checked]
        )
        row = cursor.fetchone()
    return row is not None and row[0] == state.last_hash


# Where the last intact state is kept between page loads (the cache: losing it costs one walk).
CHECKPOINT_KEY = "audit:chain-checkpoint"
CACHE_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError)


def audit_chain_check(*, full: bool = False) -> ChainState:
    """The chain checked from the last intact state kept (only the events added since are
    read), or whole when ``full`` or when no state is kept; an intact result is kept for the
    next check. The staff's audit list calls it on every load; ``full`` is its "verify the
    whole chain" button and ``manage.py audit_verify``."""
    since = None
    if not full:
        try:
            since = cache.get(CHECKPOINT_KEY)
        except CACHE_ERRORS:
            since = None
    state = audit_chain_verify(since=since if isinstance(since, ChainState) else None)
    with contextlib.suppress(*CACHE_ERRORS):  # kept or not, this check stands
        if state.links_intact:
            cache.set(CHECKPOINT_KEY, state, timeout=None)
        else:  # a known break: every later check walks the whole chain and shows it
            cache.delete(CHECKPOINT_KEY)
    return state
