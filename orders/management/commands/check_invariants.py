"""``python manage.py check_invariants``: exit status 1 and one line per violation."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from refurb_portal.invariants import invariant_violations


class Command(BaseCommand):
    help = (
        "Check that the order counters equal their deliveries, new <= delivered <= ordered, "
        "tokens and files belong to their order's manufacturer, and no revoked token is in a "
        "downloadable file. Prints one line per violation and exits with status 1 if any."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        violations = invariant_violations()
        for line in violations:
            self.stdout.write(line)
        if violations:
            sys.exit(1)
        self.stdout.write("All invariants hold.")
