"""``python manage.py audit_verify``: walk the audit trail's hash chain, report the first break.

Exits 0 when the chain is intact, 1 (with the break on stderr) when it is not: a sealed event
that does not check out, or an event left unsealed longer than ``AUDIT_SEAL_MAX_DELAY`` (nothing
seals: start the relay or Celery beat). Events still within the delay are reported, not
counted as breaks. It seals nothing itself, so a sealer that stopped is seen.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit.selectors import audit_chain_check


class Command(BaseCommand):
    help = "Check the audit trail's hash chain and report the first event that breaks it."

    def handle(self, *args: Any, **options: Any) -> None:
        state = audit_chain_check(full=True)
        if not state.kept:
            self.stdout.write("No audit chain is kept on this database (PostgreSQL only).")
            return
        if state.broken_at is not None:
            raise CommandError(
                f"Audit chain broken at position {state.broken_at}: {state.reason_text} "
                f"({events(state.checked)} before it intact)."
            )
        if state.overdue:
            raise CommandError(
                f"Audit chain: {events(state.overdue)} unsealed for more than "
                f"{settings.AUDIT_SEAL_MAX_DELAY} s, the oldest event {state.overdue_id} "
                f"(is the relay, manage.py token_file_relay, or Celery beat running?); "
                f"sealed: {events(state.checked)}, intact."
            )
        waiting = f" ({state.unsealed} newer not yet sealed)" if state.unsealed else ""
        self.stdout.write(f"Audit chain intact: {events(state.checked)} checked{waiting}.")


def events(count: int) -> str:
    """``1 event``, ``2 events``: the command's output is English (an operator's log)."""
    return f"{count} event" if count == 1 else f"{count} events"
