"""``migrate`` run as the database's owner, then the application's role granted what it needs.

With ``DATABASE_OWNER_URL`` set, the migrations of the default database run under the owner's
credentials (the application's own ``DATABASE_URL`` role cannot create or alter tables); after
them ``refurb_portal.db_roles.app_role_grant`` (re)grants ``DATABASE_APP_ROLE`` on PostgreSQL.
Without an application role (SQLite, a single-role set-up) this is Django's ``migrate``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, connections

from refurb_portal.db_roles import app_role_grant, owner_settings


class Command(migrate.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        connection = connections[alias]
        app_settings = dict(connection.settings_dict)
        owner_url = settings.DATABASE_OWNER_URL if alias == DEFAULT_DB_ALIAS else ""
        if owner_url:
            connection.close()
            connection.settings_dict.update(owner_settings(owner_url))
        try:
            super().handle(*args, **options)
            role = settings.DATABASE_APP_ROLE if alias == DEFAULT_DB_ALIAS else ""
            if role and connection.vendor == "postgresql":
                app_role_grant(
                    connection=connection, role=role, password=settings.DATABASE_APP_PASSWORD
                )
        finally:
            if owner_url:
                connection.close()
                connection.settings_dict.update(
                    {key: app_settings[key] for key in ("USER", "PASSWORD", "HOST", "PORT", "NAME")}
                )
