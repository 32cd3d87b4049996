from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import OriginalDelivery, Product, PurchaseOrder
from refurb_portal.formats import local_datetime
from refurb_portal.triggers import raise_refusal, refuse, writer_is_not
from refurb_portal.writers import NEW_DELIVERY, ORIGINAL_DELIVERY, TOKEN_FILE_RETENTION

# The channel on which PostgreSQL tells the relay that a job waits to be sent.
RELAY_CHANNEL = "refurb_token_file_unsent"

# The services that may change tokens and finished files: new deliveries (take: replaced;
# void: revoked) and original deliveries (reverse: revoked).
# Exactly one of the two deliveries is set (tokens and files).
_ONE_DELIVERY = (Q(delivery__isnull=False) & Q(original_delivery__isnull=True)) | (
    Q(delivery__isnull=True) & Q(original_delivery__isnull=False)
)
TOKEN_WRITERS_ONLY = f"{writer_is_not(NEW_DELIVERY)} AND {writer_is_not(ORIGINAL_DELIVERY)}"

# The references of every token an INSERT (or a COPY) brought in, checked once per statement
# over its distinct (order, delivery, original delivery, product): the row exists and they agree
# (the delivery's order and product, a product of the order's manufacturer). Row-level foreign
# keys checked the existence alone, with one lookup per reference per row at the commit: 15 s
# of a 1,000,000-token job's 52 s (issue 19); this is one hash aggregate per statement.
TOKEN_REFERENCES_REFUSED = raise_refusal(
    "a token names an order, delivery or product that does not exist or is not its delivery"
)
TOKENS_MATCH_THEIR_DELIVERY = f"""
IF EXISTS (
    SELECT 1
    FROM (SELECT DISTINCT order_id, delivery_id, original_delivery_id, product_id
          FROM inserted_tokens) AS t
    LEFT JOIN orders_purchaseorder AS o ON o.id = t.order_id
    LEFT JOIN orders_product AS p ON p.id = t.product_id
    LEFT JOIN deliveries_newdelivery AS d ON d.id = t.delivery_id
    LEFT JOIN orders_originaldelivery AS od ON od.id = t.original_delivery_id
    WHERE o.id IS NULL OR p.id IS NULL OR p.manufacturer_id <> o.manufacturer_id
       OR (t.delivery_id IS NOT NULL
           AND (d.id IS NULL OR d.order_id <> t.order_id OR d.product_id <> t.product_id))
       OR (t.original_delivery_id IS NOT NULL
           AND (od.id IS NULL OR od.order_id <> t.order_id))
) THEN
    {TOKEN_REFERENCES_REFUSED}
END IF;
RETURN NULL;
"""  # noqa: S608 (constant SQL: no input in it)


class FileFormat(models.TextChoices):
    """The formats a token file is written in (docs/token-files.md)."""

    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("Excel (.xlsx)")


class TokenFile(models.Model):
    """The job row and the result of making one delivery's tokens and files: a new delivery's,
    or an original delivery's (the original License List; a module order's credentials).

    It is created PENDING in the same transaction as its delivery, so it is also the outbox: a
    sweeper re-sends any job that the broker never received. Exactly one of ``delivery`` and
    ``original_delivery`` is set.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        GENERATING = "generating", _("Generating")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")
        # Its delivery was voided (rule R14): never made, or made and never to be served.
        VOIDED = "voided", _("Voided")

    delivery = models.OneToOneField(
        "deliveries.NewDelivery",
        verbose_name=_("delivery"),
        on_delete=models.PROTECT,
        related_name="file",
        null=True,
        blank=True,
    )
    original_delivery = models.OneToOneField(
        OriginalDelivery,
        verbose_name=_("original delivery"),
        on_delete=models.PROTECT,
        related_name="file",
        null=True,
        blank=True,
    )
    # A targeted new delivery: each new token replaces one listed old token
    # (``TokenReplacement``), and the files carry the ``old uuid`` column.
    # A database default too: inserts that do not name it (COPY, benchmarks) are untargeted.
    targeted = models.BooleanField(_("targeted"), default=False, db_default=False)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    total = models.PositiveIntegerField(_("total"))
    done = models.PositiveIntegerField(_("done"), default=0)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    enqueued_at = models.DateTimeField(_("enqueued"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("heartbeat"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    storage_name = models.CharField(_("stored as"), max_length=255, blank=True)
    size_bytes = models.BigIntegerField(_("size in bytes"), null=True, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    # Retention (tokens.retention): when the stored bytes were removed; the file stays READY and
    # is made again, byte for byte, from its tokens when someone downloads it.
    purged_at = models.DateTimeField(_("archived"), null=True, blank=True)
    # The request that took the delivery: the relay sends the job under its id.
    request_id = models.CharField(
        _("request id"), max_length=64, blank=True, editable=False, db_default=""
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("token file")
        verbose_name_plural = _("token files")
        constraints = [
            models.CheckConstraint(
                condition=Q(done__lte=models.F("total")), name="file_done_le_total"
            ),
            # Nothing is READY unless its whole file is recorded: a job that dies half-way can
            # leave a row GENERATING, never a partial file that looks done.
            models.CheckConstraint(
                condition=~Q(status="ready")
                | (
                    Q(row_count=models.F("total"))
                    & Q(done=models.F("total"))
                    & Q(size_bytes__isnull=False)
                    & ~Q(sha256="")
                    & ~Q(storage_name="")
                ),
                name="file_ready_is_complete",
            ),
            models.CheckConstraint(
                condition=_ONE_DELIVERY,
                name="file_of_one_delivery",
            ),
        ]
        indexes = [
            # The relay's queue: PENDING rows nobody has sent yet (tokens.relay). Small, since
            # the relay empties it within moments of each commit.
            models.Index(
                fields=["id"],
                condition=Q(status="pending", enqueued_at__isnull=True),
                name="file_unsent",
            ),
        ]
        triggers = [
            # Wakes the relay (LISTEN in tokens.relay) when the inserting transaction commits;
            # PostgreSQL sends one notification per transaction and nothing on a rollback.
            pgtrigger.Trigger(
                name="file_unsent_notify",
                when=pgtrigger.After,
                operation=pgtrigger.Insert | pgtrigger.Update,
                condition=pgtrigger.Q(new__status="pending", new__enqueued_at__isnull=True),
                func=f"PERFORM pg_notify('{RELAY_CHANNEL}', ''); RETURN NULL;",
            ),
            # A finished file is what production lines burn: only voiding (or reversing) its
            # delivery, or archiving it (retention), may touch it afterwards.
            refuse(
                name="file_finished_by_service",
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition="OLD.status IN ('ready', 'voided') AND "
                + TOKEN_WRITERS_ONLY
                + " AND "
                + writer_is_not(TOKEN_FILE_RETENTION),
                message="a ready or voided token file is changed only by the void service",
            ),
            # Retention archives and restores a file's bytes; it changes nothing else of it.
            refuse(
                name="file_retention_only_archives",
                operation=pgtrigger.Update,
                condition="NOT "
                + writer_is_not(TOKEN_FILE_RETENTION)
                + " AND (to_jsonb(OLD) - 'purged_at')"
                + " IS DISTINCT FROM (to_jsonb(NEW) - 'purged_at')",
                message="retention changes only when a token file was archived",
            ),
            refuse(
                name="file_retention_never_deletes",
                operation=pgtrigger.Delete,
                condition="NOT " + writer_is_not(TOKEN_FILE_RETENTION),
                message="retention never deletes a token file",
            ),
        ]

    def __str__(self) -> str:
        return self.file_name

    @property
    def order(self) -> PurchaseOrder:
        """The order whose delivery this file is (a new or an original delivery)."""
        source = self.delivery if self.delivery_id else self.original_delivery
        assert source is not None
        return source.order

    @property
    def delivery_label(self) -> str:
        """``N001`` for a new delivery, ``O001`` for an original one (docs/token-files.md)."""
        if self.delivery is not None:
            return self.delivery.number
        assert self.original_delivery is not None
        return self.original_delivery.number

    @property
    def file_stem(self) -> str:
        """The name every file of this delivery starts with: ``<order>-<delivery>-tokens``
        (``<order>-O001-tokens`` for an original delivery)."""
        return f"{self.order.number}-{self.delivery_label}-tokens"

    @property
    def file_name(self) -> str:
        """The CSV's download name."""
        return f"{self.file_stem}.csv"

    @property
    def in_progress(self) -> bool:
        return self.status in {self.Status.PENDING, self.Status.GENERATING}

    @property
    def percent(self) -> int:
        return self.done * 100 // self.total if self.total else 100


class TokenWorkbook(models.Model):
    """One .xlsx License List of a READY token file: part ``part`` of ``part_count``.

    Made by the same job and in the same transaction as the CSV (whose size and hash stay on
    the ``TokenFile`` row), so a file is READY with all its workbooks or with none. Excel holds
    1,048,576 rows a sheet, so a delivery of more than ``TOKEN_FILE_XLSX_ROWS_PER_PART`` tokens
    is split into numbered parts, serials in order, each with its own header row.
    """

    token_file = models.ForeignKey(
        TokenFile, verbose_name=_("token file"), on_delete=models.PROTECT, related_name="workbooks"
    )
    part = models.PositiveIntegerField(_("part"))
    part_count = models.PositiveIntegerField(_("parts"))
    first_serial = models.PositiveIntegerField(_("first serial"))
    row_count = models.PositiveIntegerField(_("rows"))
    size_bytes = models.BigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    storage_name = models.CharField(_("stored as"), max_length=255)

    class Meta:
        ordering = ["token_file", "part"]
        verbose_name = _("token workbook")
        verbose_name_plural = _("token workbooks")
        constraints = [
            models.UniqueConstraint(fields=["token_file", "part"], name="workbook_unique_part"),
            models.CheckConstraint(
                condition=Q(part__gte=1) & Q(part__lte=models.F("part_count")),
                name="workbook_part_in_range",
            ),
            models.CheckConstraint(
                condition=Q(row_count__gte=1) & Q(first_serial__gte=1) & Q(size_bytes__gt=0),
                name="workbook_not_empty",
            ),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="workbook_sha256_well_formed"
            ),
        ]

    def __str__(self) -> str:
        return self.file_name

    @property
    def file_name(self) -> str:
        """``<order>-<delivery>-tokens.xlsx``, or ``...-tokens-part-2-of-3.xlsx`` when split."""
        stem = self.token_file.file_stem
        if self.part_count == 1:
            return f"{stem}.xlsx"
        return f"{stem}-part-{self.part}-of-{self.part_count}.xlsx"


class Token(models.Model):
    """One device credential, burned into one module. Issued once, unique across the platform.

    ``serial`` numbers a delivery's tokens 1..quantity; its unique constraint is the database's
    guarantee that a delivery never gets a second set, whatever a job does. The checks keep the
    values well formed, which also means no cell of the CSV can start a spreadsheet formula.
    """

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        # A targeted new delivery named it: a new token (``replaced_by``) took its place.
        REPLACED = "replaced", _("Replaced")
        # Its delivery was voided or reversed: never served and, being kept, never issued again.
        REVOKED = "revoked", _("Revoked")

    # The owner: tenancy is ``order.manufacturer``, whichever delivery issued the token.
    # These four references are checked by the ``token_matches_its_delivery`` trigger once per
    # statement, not by row-level foreign keys (db_constraint=False); the tables they point to
    # refuse to delete a row that tokens name (migration tokens.0011).
    order = models.ForeignKey(
        PurchaseOrder,
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        related_name="tokens",
        db_constraint=False,
    )
    delivery = models.ForeignKey(
        "deliveries.NewDelivery",
        verbose_name=_("delivery"),
        on_delete=models.PROTECT,
        related_name="tokens",
        null=True,
        blank=True,
        # The (delivery, serial) unique index serves every lookup by delivery.
        db_index=False,
        db_constraint=False,
    )
    original_delivery = models.ForeignKey(
        OriginalDelivery,
        verbose_name=_("original delivery"),
        on_delete=models.PROTECT,
        related_name="tokens",
        null=True,
        blank=True,
        # The (original_delivery, serial) unique index serves every lookup by it.
        db_index=False,
        db_constraint=False,
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    serial = models.PositiveIntegerField(_("serial"))
    uuid = models.CharField(_("UUID"), max_length=20)
    auth_key = models.CharField(_("AuthKey"), max_length=32)
    # A database default: the job COPYs tokens in without naming this column.
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, db_default=Status.ISSUED
    )
    # The old token this one replaces (a targeted new delivery); unique on the old side.
    replaces = models.OneToOneField(
        "self",
        verbose_name=_("replaces"),
        on_delete=models.PROTECT,
        related_name="replaced_by",
        null=True,
        blank=True,
    )
    issued_at = models.DateTimeField(_("issued"), db_default=Now())
    # When it became replaced or revoked; the revocation list reads it by date range.
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        verbose_name = _("token")
        verbose_name_plural = _("tokens")
        indexes = [
            models.Index(
                fields=["retired_at"],
                name="token_retired_at",
                condition=Q(retired_at__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["uuid"], name="token_unique_uuid"),
            models.UniqueConstraint(fields=["auth_key"], name="token_unique_auth_key"),
            models.UniqueConstraint(fields=["delivery", "serial"], name="token_unique_serial"),
            models.UniqueConstraint(
                fields=["original_delivery", "serial"], name="token_unique_original_serial"
            ),
            models.CheckConstraint(
                condition=_ONE_DELIVERY,
                name="token_of_one_delivery",
            ),
            models.CheckConstraint(
                condition=(Q(status="issued") & Q(retired_at__isnull=True))
                | (Q(status__in=["replaced", "revoked"]) & Q(retired_at__isnull=False)),
                name="token_retired_iff_not_issued",
            ),
            models.CheckConstraint(condition=Q(serial__gte=1), name="token_serial_positive"),
            models.CheckConstraint(
                condition=Q(uuid__regex=r"^[a-z0-9]{20}$"), name="token_uuid_well_formed"
            ),
            models.CheckConstraint(
                condition=Q(auth_key__regex=r"^[A-Za-z0-9]{32}$"),
                name="token_auth_key_well_formed",
            ),
        ]
        triggers = [
            # Issued once (R8): a token is never rewritten, moved or deleted; a targeted take
            # marks it replaced, voiding or reversing its delivery marks it revoked.
            refuse(
                name="token_by_service",
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=TOKEN_WRITERS_ONLY,
                message="tokens are changed only by the delivery services",
            ),
            # Its order, delivery and product exist and agree (see TOKENS_MATCH_THEIR_DELIVERY).
            pgtrigger.Trigger(
                name="token_matches_its_delivery",
                level=pgtrigger.Statement,
                when=pgtrigger.After,
                operation=pgtrigger.Insert,
                referencing=pgtrigger.Referencing(new="inserted_tokens"),
                func=TOKENS_MATCH_THEIR_DELIVERY,
            ),
            # A token inserted without its order (a script, an older job) gets its delivery's:
            # the owner is never missing. The job names it, so the condition skips the lookup.
            pgtrigger.Trigger(
                name="token_order_from_delivery",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                condition=pgtrigger.Condition("NEW.order_id IS NULL"),
                func="""
                NEW.order_id := COALESCE(
                    (SELECT order_id FROM deliveries_newdelivery WHERE id = NEW.delivery_id),
                    (SELECT order_id FROM orders_originaldelivery
                     WHERE id = NEW.original_delivery_id));
                RETURN NEW;
                """,
            ),
        ]

    def __str__(self) -> str:
        return self.uuid

    @property
    def auth_key_masked(self) -> str:
        """The AuthKey as staff may see it: only its last four characters."""
        return "•" * (len(self.auth_key) - 4) + self.auth_key[-4:]


class TokenReplacement(models.Model):
    """One line of a targeted new delivery's list: new serial ``serial`` replaces ``old_token``.

    Written by ``deliveries.services.new_delivery_take`` in the take's transaction, under the
    order's row lock, with the old token marked replaced; the job then sets each new token's
    ``replaces`` from it. Unique on the old token, so no two deliveries can replace one token.
    Voiding the delivery deletes its rows (the old tokens are issued again).
    """

    delivery = models.ForeignKey(
        "deliveries.NewDelivery",
        verbose_name=_("delivery"),
        on_delete=models.PROTECT,
        related_name="replacements",
        db_index=False,
    )
    serial = models.PositiveIntegerField(_("serial"))
    old_token = models.OneToOneField(
        Token, verbose_name=_("old token"), on_delete=models.PROTECT, related_name="replacement"
    )

    class Meta:
        verbose_name = _("token replacement")
        verbose_name_plural = _("token replacements")
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "serial"], name="token_replacement_unique_serial"
            ),
        ]
        triggers = [
            refuse(
                name="token_replacement_by_service",
                operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
                condition=writer_is_not(NEW_DELIVERY),
                message="token replacements are written only by the new delivery service",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id}/{self.serial}"


class TokenDownload(models.Model):
    """One download of a token file: who, when, from where, through which door."""

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Portal")
        ADMIN = "admin", _("Admin")
        API = "api", _("API")

    token_file = models.ForeignKey(
        TokenFile, verbose_name=_("token file"), on_delete=models.PROTECT, related_name="downloads"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="token_downloads",
    )
    downloaded_at = models.DateTimeField(_("downloaded"), default=timezone.now, db_index=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.PORTAL
    )
    file_format = models.CharField(
        _("format"), max_length=4, choices=FileFormat.choices, default=FileFormat.CSV
    )
    in_archive = models.BooleanField(_("in an order's ZIP"), default=False)

    class Meta:
        ordering = ["-downloaded_at", "-id"]
        verbose_name = _("token download")
        verbose_name_plural = _("token downloads")
        triggers = [
            # "Never downloaded" decides whether a delivery may be voided: the record stays.
            refuse(
                name="token_download_append_only",
                operation=pgtrigger.Update | pgtrigger.Delete,
                message="token downloads are recorded, never changed",
            )
        ]

    def __str__(self) -> str:
        return f"{self.token_file} ({local_datetime(self.downloaded_at)})"
