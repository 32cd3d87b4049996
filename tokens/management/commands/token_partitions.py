"""``manage.py token_partitions [--ahead N]``: make the token partitions of the coming months."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from refurb_portal.db_roles import app_role_grant, connected_as_owner
from tokens.partitions import token_partitions_ensure


class Command(BaseCommand):
    help = (
        "Create the monthly partitions of the plan's token table (docs/scale.md) for this month "
        "and the next N months; idempotent, run it daily."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ahead", type=int, default=3, help="months after this one (3)")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        # DDL, like a migration: as the owner, then the application's role granted the new
        # partitions (as ``migrate`` does).
        with connected_as_owner(connection, settings.DATABASE_OWNER_URL):
            created = token_partitions_ensure(today=timezone.now().date(), ahead=options["ahead"])
            role = settings.DATABASE_APP_ROLE
            if created and role:
                app_role_grant(
                    connection=connection, role=role, password=settings.DATABASE_APP_PASSWORD
                )
        for name in created:
            self.stdout.write(f"created {name}")
        self.stdout.write(f"{len(created)} partition(s) created")
