"""The application's role is set up by the owner, any number of times, and never as the owner."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper

from refurb_portal.db_roles import app_role_grant


@pytest.mark.django_db(transaction=True)
def test_the_grant_is_idempotent_and_never_makes_the_owner_the_application(
    owner_db: BaseDatabaseWrapper, db_owner: dict[str, str]
) -> None:
    for _ in range(2):  # a second migrate (or a second web container) changes nothing
        app_role_grant(connection=owner_db, role=settings.DATABASE_APP_ROLE)
    with owner_db.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) "
            "FROM information_schema.role_table_grants WHERE grantee = %s "
            "AND table_name IN ('audit_auditevent', 'django_migrations', 'orders_purchaseorder') "
            "GROUP BY table_name ORDER BY table_name",
            [settings.DATABASE_APP_ROLE],
        )
        assert cursor.fetchall() == [
            ("audit_auditevent", "INSERT,SELECT"),
            ("django_migrations", "SELECT"),
            ("orders_purchaseorder", "DELETE,INSERT,SELECT,UPDATE"),
        ]
    with pytest.raises(ValueError, match="must not be the owner"):
        app_role_grant(connection=owner_db, role=db_owner["user"])
