"""The two PostgreSQL roles: the owner runs migrations; the application connects as a role with
only what it needs.

The application's role gets SELECT, INSERT, UPDATE and DELETE on the tables (no TRUNCATE, no
ownership, so no ALTER TABLE, DISABLE or DROP TRIGGER, and never superuser, so no
``session_replication_role``); on the audit trail INSERT and SELECT only; on ``django_migrations``
SELECT only. ``app_role_grant`` is idempotent: ``migrate`` (``audit/management/commands/
migrate.py``) calls it after every run, so tables added by a migration are granted too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dj_database_url
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

# The tables the application may read and append to, never change.
APPEND_ONLY_TABLES = ("audit_auditevent",)
READ_ONLY_TABLES = ("django_migrations",)


def owner_settings(url: str) -> dict[str, object]:
    """The connection settings (USER, PASSWORD, HOST, PORT, NAME) of the owner's ``url``."""
    parsed = dj_database_url.parse(url)
    return {key: parsed[key] for key in ("USER", "PASSWORD", "HOST", "PORT", "NAME")}


def app_role_grant(*, connection: BaseDatabaseWrapper, role: str, password: str = "") -> None:
    """Create ``role`` (LOGIN, with ``password`` if given) when it does not exist, and give it
    exactly the application's privileges on the current database's public schema, revoking
    anything else it had there. Run as the owner (creating the role needs CREATEROLE).

    Raises ``ValueError`` when ``role`` is the connection's own user or a superuser: the
    application could then switch the audit trail's protection off.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database()")
        current_user, database = cursor.fetchone()
        if role == current_user:
            raise ValueError(f"the application's role {role!r} must not be the owner")
        login = (
            sql.SQL("LOGIN PASSWORD {}").format(sql.Literal(password))
            if password
            else sql.SQL("LOGIN")
        )
        role_id = sql.Identifier(role)
        statements = [
            # Two migrations at once (two web containers starting) may both try to create it.
            sql.SQL(
                "DO $$ BEGIN CREATE ROLE {} {} NOSUPERUSER NOCREATEDB NOCREATEROLE; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            ).format(role_id, login),
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), role_id),
            sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"),
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role_id),
            sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(role_id),
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
            ).format(role_id),
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role_id),
        ]
        for table in APPEND_ONLY_TABLES:
            statements.append(
                sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(
                    sql.Identifier(table), role_id
                )
            )
        for table in READ_ONLY_TABLES:
            statements.append(
                sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(
                    sql.Identifier(table), role_id
                )
            )
        if password:  # a changed password in the environment reaches an existing role too
            statements.insert(1, sql.SQL("ALTER ROLE {} {}").format(role_id, login))
        for statement in statements:
            cursor.execute(statement.as_string(cursor.connection))
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() != (False,):
            raise ValueError(f"the application's role {role!r} must not be a superuser")


@contextmanager
def connected_as_owner(connection: BaseDatabaseWrapper, owner_url: str) -> Iterator[None]:
    """``connection`` logs in with ``owner_url``'s credentials inside the block (DDL such as
    making partitions ahead, like migrations, is the owner's); nothing changes without a URL."""
    if not owner_url:
        yield
        return
    before = {
        key: connection.settings_dict.get(key)
        for key in ("USER", "PASSWORD", "HOST", "PORT", "NAME")
    }
    connection.close()
    connection.settings_dict.update(owner_settings(owner_url))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(before)
