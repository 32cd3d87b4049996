#!/bin/sh
# First start of the compose PostgreSQL: the owner of the database (runs migrations) is not a
# superuser; the application's role is created by `manage.py migrate` (refurb_portal/db_roles.py).
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE refurb_owner LOGIN CREATEROLE PASSWORD '${REFURB_OWNER_PASSWORD}';
ALTER DATABASE refurb OWNER TO refurb_owner;
ALTER SCHEMA public OWNER TO refurb_owner;
SQL
