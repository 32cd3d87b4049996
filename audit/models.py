from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from refurb_portal.formats import local_datetime

# How a manufacturer reads any member of platform staff (as on work orders).
PLATFORM_STAFF_NAME = _("Platform staff")


class AuditEvent(models.Model):
    """An append-only, hash-chained record of a security or business event: who, what, which
    object, when.

    On PostgreSQL the table's triggers (migrations ``audit.0003`` and ``audit.0005``) refuse
    every DELETE, and every UPDATE but one: the sealing of an unsealed event. That is for every
    role and with no switch (not ``pgtrigger.ignore``); TRUNCATE only by the table's owner. The
    application's role may only INSERT and SELECT. On insert the database sets ``occurred_at``
    (``now()``) and leaves the event unsealed (``chain_position`` NULL, both hashes empty),
    whatever the client sends for those four columns. Sealing (``audit.services.audit_seal``:
    the relay, a Celery beat entry, or right after the commit with ``AUDIT_SEAL_ON_COMMIT``)
    gives the committed unsealed events, in id order under the chain's advisory lock, the next
    ``chain_position``, the previous event's hash and their own ``hash`` (SHA-256 over the
    previous hash and the row's canonical content). The trigger computes those values itself
    and allows the change only when every other column is unchanged, so sealing can come early
    but never alter an event. ``audit_chain_verify`` reports events left unsealed longer than
    ``AUDIT_SEAL_MAX_DELAY``. The references to the user and the manufacturer are kept without
    a database constraint and without ``on_delete`` effects: deleting a user must not try to
    rewrite history, and ``actor_username`` keeps the name.
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
    # Set by the database when the event is sealed (PostgreSQL; empty until then, and always on
    # SQLite, where no chain is kept). The db_default makes the ORM read the empty values back.
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
        indexes = [
            models.Index(fields=["manufacturer", "-occurred_at"]),
            # What the sealer and the chain check look for: the few events not yet sealed.
            models.Index(
                fields=["id"], condition=Q(chain_position__isnull=True), name="audit_event_unsealed"
            ),
        ]

    def __str__(self) -> str:
        return f"{local_datetime(self.occurred_at)} {self.actor_username} {self.action}"

    @property
    def who(self) -> str:
        """The event's user as the manufacturer reads it: "Platform staff" for staff (an event
        read through ``audit.selectors.activity_for_manufacturer``, which annotates
        ``by_staff``), else the name recorded; ``""`` for none."""
        if getattr(self, "by_staff", False):
            return str(PLATFORM_STAFF_NAME)
        return self.actor_username
