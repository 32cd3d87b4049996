"""PostgreSQL's refusals of writes that bypass the services (rule R13), as pgtrigger triggers.

Each model lists its triggers in ``Meta.triggers``, built here so that every refusal reads the
same: SQLSTATE 23514 (``check_violation``, so Django raises ``IntegrityError`` as for a CHECK
constraint) and a message that names the rule. A service lets its own writes through with
``refurb_portal.writers.service_writes``; nothing else can, the admin included.

Checks that span tables (a product's manufacturer against its orders') are deferred constraint
triggers: they run at COMMIT on the final state, so a change that is put right in the same
transaction (the admin saves an order, then its products) is judged as a whole.
"""

from __future__ import annotations

import pgtrigger
from django.db import models

from refurb_portal.writers import SETTING


def writer_is_not(writer: str) -> str:
    """SQL that is true unless the transaction-local writer setting names ``writer``."""
    return f"COALESCE(current_setting('{SETTING}', true), '') <> '{writer}'"


def raise_refusal(message: str) -> str:
    """A PL/pgSQL statement that refuses the write with ``message`` (no quotes in it)."""
    if "'" in message:
        raise ValueError("a refusal message is SQL text: no quotes")
    return f"RAISE EXCEPTION '{message}' USING ERRCODE = 'check_violation';"


def refuse(
    *, name: str, operation: pgtrigger.Operation, message: str, condition: str | None = None
) -> pgtrigger.Trigger:
    """A BEFORE ROW trigger refusing ``operation`` whenever the SQL ``condition`` holds
    (always, without one)."""
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=operation,
        condition=pgtrigger.Condition(condition) if condition else None,
        func=raise_refusal(message),
    )


def refuse_at_commit(
    *,
    name: str,
    operation: pgtrigger.Operation,
    check: str,
    message: str,
    condition: str | None = None,
) -> pgtrigger.Trigger:
    """A deferred constraint trigger: at COMMIT, refuse when the SQL expression ``check``
    (which may query other tables and use NEW) is true for a row written in the transaction.
    ``condition`` (no subqueries) limits the rows it is queued for."""
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.After,
        operation=operation,
        condition=pgtrigger.Condition(condition) if condition else None,
        timing=pgtrigger.Deferred,
        func=f"IF {check} THEN {raise_refusal(message)} END IF; RETURN NULL;",
    )


def correction_has_reason(*, at: str, reason: str, name: str) -> models.CheckConstraint:
    """A CHECK that a correction (a void, a reversal: rule R14) has its time and its reason
    together, or neither."""
    return models.CheckConstraint(
        condition=(models.Q(**{f"{at}__isnull": True}) & models.Q(**{reason: ""}))
        | (models.Q(**{f"{at}__isnull": False}) & ~models.Q(**{reason: ""})),
        name=name,
    )
