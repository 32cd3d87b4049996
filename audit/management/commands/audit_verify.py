"""``python manage.py audit_verify``: walk the audit trail's hash chain, report the first break.

Exits 0 when the chain is intact, 1 (with the break on stderr) when it is not.
"""

from __future__ import annotations

from typing import Any

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
                f"({state.checked} events before it are intact)."
            )
        self.stdout.write(f"Audit chain intact: {state.checked} events checked.")
