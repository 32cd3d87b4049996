from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from refurb_portal.formats import local_datetime


class AuditEvent(models.Model):
    """An append-only, hash-chained record of a security or business event: who, what, which
    object, when.

    On PostgreSQL the table's triggers (migration ``audit.0003``, see ``audit/chain.py``) refuse
    every UPDATE and DELETE, for every role and with no switch (not ``pgtrigger.ignore``), and
    TRUNCATE by anyone but the table's owner; the application's role may only INSERT and SELECT.
    On insert the database sets ``occurred_at`` (``now()``), the next ``chain_position``, the
    previous row's hash and this row's ``hash`` (SHA-256 over the previous hash and the row's
    canonical content), under a transaction-scoped advisory lock so the chain has one order.
    Whatever the client sends for those four columns is overwritten. The references to the
    user and the manufacturer are kept without a database constraint and without
    ``on_delete`` effects: deleting a user must not try to rewrite history, and
    ``actor_username`` keeps the name.
    """

    occurred_at = models.DateTimeField(_("when"), db_default=Now(), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    actor_username = models.CharField(_("username"), max_length=150, blank=True)
    manufacturer = models.ForeignKey(
        "accounts.Manufacturer",
        verbose_name=_("manufacturer"),
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    action = models.CharField(_("what"), max_length=60, db_index=True)
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("object id"), max_length=60, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    # Set by the database on insert (PostgreSQL; left empty on SQLite, where no chain is kept).
    # The db_default makes the ORM read the values back (RETURNING) after the insert.
    chain_position = models.BigIntegerField(
        _("chain position"), null=True, blank=True, unique=True, editable=False, db_default=None
    )
    previous_hash = models.CharField(
        _("previous hash"), max_length=64, blank=True, editable=False, db_default=""
    )
    hash = models.CharField(_("hash"), max_length=64, blank=True, editable=False, db_default="")
    # The request (or the Celery job it sent) that caused the event: ties it to the log lines.
    # A database default too: rows written by SQL of its own (the benchmarks' pgbench) need none.
    request_id = models.CharField(
        _("request id"), max_length=64, blank=True, default="", db_default=""
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["manufacturer", "-occurred_at"])]

    def __str__(self) -> str:
        return f"{local_datetime(self.occurred_at)} {self.actor_username} {self.action}"
