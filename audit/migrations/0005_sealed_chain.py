"""The audit chain is sealed after the commit by one appender instead of at each insert.

Before, the insert trigger took the chain's advisory lock and held it to the end of the
inserting transaction, so every audited write of the portal queued on it (docs/benchmarks.md).
Now an event is inserted without it: the database sets ``occurred_at`` and leaves
``chain_position``, ``previous_hash`` and ``hash`` empty, and NOTIFYs ``audit_seal`` at the
commit. ``audit_seal(max_rows)`` (run by the relay, a Celery beat entry and, in tests and
development, right after each commit) takes the advisory lock and seals the committed unsealed
events in id order. The sealing values are computed by the update trigger itself, whatever the
client sends; every other UPDATE and every DELETE is still refused, for every role.

Existing events were sealed at their insert: nothing to do for the data.
"""

import re
from importlib import import_module

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

SEAL_SQL = r"""
-- An insert: the database's time, and no place in the chain yet (the client cannot choose it).
CREATE OR REPLACE FUNCTION audit_event_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.occurred_at := now();
  NEW.chain_position := NULL;
  NEW.previous_hash := '';
  NEW.hash := '';
  PERFORM pg_notify('audit_seal', '');
  RETURN NEW;
END $$;

-- UPDATE is refused except the one sealing change: an unsealed event, every other column
-- unchanged. Its chain values are computed here, under the chain's advisory lock (two-key
-- space: it never meets the one-key locks of the token job), whatever the client sent: a role
-- that may UPDATE can only seal an event early, never alter one. DELETE is always refused;
-- TRUNCATE only for the table's owner (a test database's flush), who could drop the trigger.
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  content audit_auditevent;
  last_position bigint;
  last_hash text;
BEGIN
  IF TG_OP = 'TRUNCATE' AND pg_has_role(
    current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE'
  ) THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.chain_position IS NULL THEN
    content := NEW;
    content.chain_position := OLD.chain_position;
    content.previous_hash := OLD.previous_hash;
    content.hash := OLD.hash;
    IF content IS NOT DISTINCT FROM OLD THEN
      PERFORM pg_advisory_xact_lock(20261125, 1);
      SELECT chain_position, hash INTO last_position, last_hash FROM audit_auditevent
        WHERE chain_position IS NOT NULL ORDER BY chain_position DESC LIMIT 1;
      NEW.chain_position := COALESCE(last_position, 0) + 1;
      NEW.previous_hash := COALESCE(last_hash, repeat('0', 64));
      NEW.hash := audit_event_hash(NEW.previous_hash, NEW);
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
  FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();

-- The single appender: seal up to max_rows committed unsealed events, in id order; returns how
-- many. Runs as the table's owner (the application's role may not UPDATE the table), and can
-- only do what the trigger above allows.
CREATE OR REPLACE FUNCTION audit_seal(max_rows integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  unsealed bigint;
  sealed integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(20261125, 1);
  FOR unsealed IN SELECT id FROM audit_auditevent WHERE chain_position IS NULL
      ORDER BY id LIMIT max_rows LOOP
    UPDATE audit_auditevent SET chain_position = NULL WHERE id = unsealed;
    sealed := sealed + 1;
  END LOOP;
  RETURN sealed;
END $$;
"""

def seal_async(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent ALTER COLUMN chain_position DROP NOT NULL")
            cursor.execute("DROP TRIGGER audit_event_append_only ON audit_auditevent")
            cursor.execute(SEAL_SQL)


def seal_at_insert(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Back to audit.0003's triggers (without its first chaining of the rows), every event
    still unsealed sealed first."""
    if schema_editor.connection.vendor != "postgresql":
        return
    chain_sql = import_module("audit.migrations.0003_hash_chain").CHAIN_SQL
    triggers = re.sub(r"-- Existing rows.*?SET NOT NULL;\n", "", chain_sql, flags=re.S)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT audit_seal(2147483647)")
        cursor.execute(
            "DROP FUNCTION audit_seal(integer); "
            "DROP TRIGGER audit_event_append_only ON audit_auditevent; "
            "DROP TRIGGER audit_event_no_truncate ON audit_auditevent; "
            "DROP TRIGGER audit_event_chain ON audit_auditevent; "
            "ALTER TABLE audit_auditevent ALTER COLUMN chain_position SET NOT NULL"
        )
        cursor.execute(triggers)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_auditevent_request_id"),
    ]

    operations = [
        migrations.RunPython(seal_async, seal_at_insert),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("chain_position__isnull", True)),
                fields=["id"],
                name="audit_event_unsealed",
            ),
        ),
    ]
