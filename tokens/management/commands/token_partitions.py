"""``manage.py token_partitions [--ahead N]``: make the token partitions of the coming months."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from tokens.partitions import token_partitions_ensure


class Command(BaseCommand):
    help = (
        "Create the monthly partitions of the plan's token table (docs/scale.md) for this month "
        "and the next N months; idempotent, run it daily."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ahead", type=int, default=3, help="months after this one (3)")

    def handle(self, *args: Any, **options: Any) -> None:
        created = token_partitions_ensure(today=timezone.now().date(), ahead=options["ahead"])
        for name in created:
            self.stdout.write(f"created {name}")
        self.stdout.write(f"{len(created)} partition(s) created")
