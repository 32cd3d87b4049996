"""Writes for new deliveries. ``new_delivery_take`` and ``new_delivery_void`` are the only
writers of an order's ``new_tokens_delivered`` counter, of new deliveries and of tokens once
made; PostgreSQL refuses any other write (triggers on the tables, ``refurb_portal.triggers``)."""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, Max, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone

from accounts.access import role_require
from accounts.models import User
from audit.services import audit_record
from deliveries.errors import DeliveryError
from deliveries.models import NewDelivery
from deliveries.old_uuids import (
    OldUuidList,
    replacements_check,
    replacements_record,
    replacements_release,
)
from deliveries.selectors import NewDeliveryOptions, new_delivery_options
from orders.models import Product, PurchaseOrder
from refurb_portal.locking import busy_refused_as, lock_row
from refurb_portal.writers import NEW_DELIVERY, service_writes
from tokens.models import Token, TokenDownload, TokenFile
from tokens.services import token_file_outbox, token_file_send_after_commit

# Refusals that say something about the order or the request rather than about a typing slip;
# the security review (issue #7) wants each of them in the audit trail.
AUDITED_REFUSALS = frozenset(
    {
        "order_not_eligible",
        "nothing_available",
        "product_not_eligible",
        "quantity_exceeds_available",
    }
)


@dataclass(frozen=True)
class TakeResult:
    delivery: NewDelivery
    created: bool  # False when the idempotency key replayed an earlier delivery


def new_delivery_take(
    *,
    order_id: int,
    product_id: int,
    quantity: int,
    user: User,
    idempotency_key: uuid.UUID,
    request: HttpRequest | None = None,
    old_uuids: OldUuidList | None = None,
) -> TakeResult:
    """Take a new delivery of ``quantity`` tokens of ``product_id`` on ``order_id``.

    Locking contract: one transaction that first locks the order row (``SELECT ... FOR UPDATE``
    with ``lock_timeout``; a wait beyond it is refused as "busy"), then reads the counters,
    checks rules R1, R5, R6/R7 and R3 in that order, writes the delivery, the raised counter,
    its PENDING token-file job and the audit event, and commits. Every other writer of the
    counters takes the same lock first, so two takes on one order serialize on that row and can
    never together exceed the available count (R9); the delivery's sequence number is safe for
    the same reason. The token file job is sent after the commit (by the relay, or in
    ``make run`` by this process: ``tokens.services.token_file_send_after_commit``).

    Round trips, for the rate of takes on one hot order (docs/benchmarks.md): the lock; one
    statement (``TAKE_SQL``) writing the delivery, the counter and the job, which when every rule
    known from the locked row holds (R1, R5, R3; not a targeted take) also checks R6/R7 and that
    the key is unused, and writes nothing otherwise; the audit event (with the webhooks' lookup);
    the commit. Only when it wrote nothing is the key and R6/R7 read (``_key_and_eligibility``)
    and the replay or the refusal answered in the order above.

    Idempotency: a key already used returns that delivery (``created=False``) when the order,
    product, quantity and user match, and is refused as ``key_reused`` when they differ. The key
    is looked up after the lock, so two simultaneous submissions of one form serialize and the
    second finds the first; the unique index on the key settles the same key sent to two orders.

    Targeted (``old_uuids``, a stored list of ``deliveries.old_uuids``): under the same lock the
    list is checked again, ``quantity`` must be its count of valid lines, and each new serial is
    paired with one old token, marked replaced in this transaction (``_take_targeted``); two
    takes naming one old UUID serialize on the order row and the second is refused.

    Refusals raise ``DeliveryError``; those in ``AUDITED_REFUSALS`` are recorded as
    ``delivery.refused`` after the rollback. The caller must check that ``user`` may see the
    order (tenancy) before calling; an unknown ``order_id`` raises ``PurchaseOrder.DoesNotExist``.
    """
    role_require(user=user, action="delivery.take", error=DeliveryError)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise DeliveryError("quantity_not_positive")
    # A take in a transaction of its own (any request's) names itself the writer in its lock
    # statement, for the whole transaction. Inside a caller's transaction the setting would
    # outlive the take, so there it is set and cleared around the write (service_writes).
    own_transaction = not transaction.get_connection().in_atomic_block
    try:
        with busy_refused_as(DeliveryError), transaction.atomic():
            # One statement: the order row locked (only it: FOR UPDATE OF, so takes on other
            # orders of the manufacturer are not serialized behind this one) with its
            # manufacturer (the audit event needs it), and the writer named (above).
            order = lock_row(
                PurchaseOrder.objects.select_related("manufacturer"),
                pk=order_id,
                writer=NEW_DELIVERY if own_transaction else None,
            )
            options = new_delivery_options(order=order)
            available = options.available
            insert = partial(
                _write,
                own_transaction,
                order=order,
                product_id=product_id,
                quantity=quantity,
                user=user,
                idempotency_key=idempotency_key,
            )
            written = None
            if (
                old_uuids is None
                and not options.order_refusal
                and quantity <= available
                and connection.vendor == "postgresql"
            ):
                # The usual take: one statement checks the rest (R6/R7, the key unused) and
                # writes, or writes nothing.
                written = insert(offered=options.offered_product(product_id))
            if written is None:
                earlier_id, eligible = _key_and_eligibility(
                    options=options, product_id=product_id, idempotency_key=idempotency_key
                )
                if earlier_id is not None:
                    return _replay(
                        earlier_id,
                        order_id=order.pk,
                        product_id=product_id,
                        quantity=quantity,
                        user=user,
                    )
                available = _check_rules(options=options, eligible=eligible, quantity=quantity)
                if old_uuids is not None:
                    replacements_check(order_id=order.pk, old_uuids=old_uuids, quantity=quantity)
                written = insert(targeted=old_uuids is not None)
                if written is None:  # the key, used on another order since the read above
                    raise DeliveryError("key_reused")
            delivery, token_file_id = written
            token_file_send_after_commit(token_file_id=token_file_id)
            if old_uuids is not None:
                replacements_record(delivery_id=delivery.pk)
            audit_record(
                action="delivery.taken",
                actor=user,
                obj=delivery,
                manufacturer=order.manufacturer,
                request=request,
                details={
                    "order": order.number,
                    "delivery": delivery.number,
                    "product_id": product_id,
                    "quantity": quantity,
                    "available_before": available,
                    "available_after": available - quantity,
                },
            )
    except IntegrityError as exc:
        # The same key used at the same moment on another order: the unique index decides.
        if NewDelivery.objects.filter(idempotency_key=idempotency_key).exists():
            raise DeliveryError("key_reused") from exc
        raise
    except DeliveryError as exc:
        if exc.code in AUDITED_REFUSALS:
            # After the rollback, in its own write: the refusal is kept although nothing else is.
            audit_record(
                action="delivery.refused",
                actor=user,
                request=request,
                details={
                    "order_id": order_id,
                    "product_id": product_id,
                    "quantity": quantity,
                    "reason": exc.code,
                },
            )
        raise
    return TakeResult(delivery=delivery, created=True)


def _key_and_eligibility(
    *, options: NewDeliveryOptions, product_id: int, idempotency_key: uuid.UUID
) -> tuple[int | None, bool]:
    """One statement, after the lock: the id of the delivery already taken with the key (or
    None), and whether the product is eligible (R6/R7, ``NewDeliveryOptions``)."""
    earlier = (
        NewDelivery.objects.filter(idempotency_key=idempotency_key).order_by().values("pk")[:1]
    )
    row = (
        PurchaseOrder.objects.filter(pk=options.order.pk)
        .annotate(
            earlier=Subquery(earlier.values("pk")),
            eligible=Exists(options.offered_product(product_id)),
        )
        .values_list("earlier", "eligible")
        .get()
    )
    return row[0], bool(row[1])


def _replay(
    earlier_id: int, *, order_id: int, product_id: int, quantity: int, user: User
) -> TakeResult:
    """The key was used: the same take again is answered with its delivery, anything else is
    refused as ``key_reused``."""
    earlier = NewDelivery.objects.get(pk=earlier_id)
    if (earlier.order_id, earlier.product_id, earlier.quantity, earlier.taken_by_id) != (
        order_id,
        product_id,
        quantity,
        user.pk,
    ):
        raise DeliveryError("key_reused")
    return TakeResult(delivery=earlier, created=False)


# The take's writes in one statement (data-modifying CTEs run once each, whatever reads them):
# - the delivery, numbered by the INSERT itself (a new statement, so it sees every delivery
#   committed before the order's lock was granted), only if the product is offered (the
#   ``{offered}`` subquery, R6/R7) and the key unused (ON CONFLICT: nothing is written, also
#   when the same key commits on another order meanwhile);
# - the counter raised by the database from what it holds (not the value read), so its CHECK
#   refuses the result if the lock was ever bypassed; the writer trigger lets it through
#   (the writer setting, see new_delivery_take);
# - the PENDING TokenFile row, the outbox (tokens.services.token_file_outbox).
# No delivery, no counter and no job: the statement returns no row.
TAKE_SQL = """
WITH delivery AS (
  INSERT INTO deliveries_newdelivery (order_id, sequence, product_id, quantity, taken_by_id,
    taken_at, idempotency_key, voided_at, voided_by_id, void_reason)
  SELECT %(order)s, COALESCE((SELECT MAX(sequence) + 1 FROM deliveries_newdelivery
      WHERE order_id = %(order)s), 1), %(product)s, %(quantity)s, %(user)s, now(), %(key)s,
    NULL, NULL, ''
  WHERE {offered}
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING *
), counter AS (
  UPDATE orders_purchaseorder SET new_tokens_delivered = new_tokens_delivered + %(quantity)s
  FROM delivery WHERE orders_purchaseorder.id = delivery.order_id
), job AS (
  INSERT INTO tokens_tokenfile (delivery_id, original_delivery_id, targeted, status, total,
    done, attempts, error, created_at, enqueued_at, started_at, heartbeat_at, finished_at,
    storage_name, size_bytes, row_count, sha256, purged_at, request_id)
  SELECT id, NULL, %(targeted)s, 'pending', %(quantity)s, 0, 0, '', now(), %(enqueued_at)s,
    NULL, NULL, NULL, '', NULL, NULL, '', NULL, %(request_id)s FROM delivery
  RETURNING id, delivery_id
)
SELECT delivery.*, job.id AS token_file_id FROM delivery JOIN job ON job.delivery_id = delivery.id
"""


def _write(own_transaction: bool, **insert: Any) -> tuple[NewDelivery, int] | None:
    """``_insert`` (on SQLite ``_insert_without_cte``); inside a caller's transaction with the
    writer set around it (a take in a transaction of its own named itself the writer in its
    lock statement)."""
    with nullcontext() if own_transaction else service_writes(NEW_DELIVERY):
        if connection.vendor != "postgresql":
            return _insert_without_cte(**insert)
        return _insert(**insert)


def _insert(
    *,
    order: PurchaseOrder,
    product_id: int,
    quantity: int,
    user: User,
    idempotency_key: uuid.UUID,
    offered: QuerySet[Product] | None = None,
    targeted: bool = False,
) -> tuple[NewDelivery, int] | None:
    """``TAKE_SQL``: the new delivery and its job's id, the order's counter raised by
    ``quantity``; None, and nothing written, when ``offered`` (R6/R7, a query of the product
    if eligible) finds nothing or the key is used. Without ``offered`` the caller has checked
    R6/R7. Call under the order's row lock, with the writer set. A CHECK refusing raises
    ``IntegrityError``, as the ORM's writes did."""
    params: dict[str, Any] = {
        "order": order.pk,
        "product": product_id,
        "quantity": quantity,
        "user": user.pk,
        "key": idempotency_key,
        "targeted": targeted,
        **token_file_outbox(),
    }
    condition = "true"
    if offered is not None:
        subquery, subquery_params = offered.values("pk").query.sql_with_params()
        # Named parameters throughout: the subquery's positional ones are renamed.
        names = [f"offered_{n}" for n in range(len(subquery_params))]
        params.update(zip(names, subquery_params, strict=True))
        condition = "EXISTS (" + subquery % tuple(f"%({name})s" for name in names) + ")"
    rows = list(NewDelivery.objects.raw(TAKE_SQL.format(offered=condition), params))
    if not rows:
        return None
    delivery = rows[0]
    token_file_id = int(vars(delivery).pop("token_file_id"))
    # The rows the caller already holds, so that str(delivery) and the event read no more.
    delivery.order = order
    delivery.taken_by = user
    return delivery, token_file_id


def _insert_without_cte(
    *,
    order: PurchaseOrder,
    product_id: int,
    quantity: int,
    user: User,
    idempotency_key: uuid.UUID,
    targeted: bool,
) -> tuple[NewDelivery, int]:
    """SQLite (``make run``) has no data-modifying CTEs: ``TAKE_SQL``'s three writes through the
    ORM, in the same order, under SQLite's IMMEDIATE transaction (one writer at a time); the key
    and R6/R7 were checked by the caller. A used key raises ``IntegrityError``."""
    last = NewDelivery.objects.filter(order=order).aggregate(last=Max("sequence"))["last"]
    delivery = NewDelivery.objects.create(
        order=order,
        sequence=(last or 0) + 1,
        product_id=product_id,
        quantity=quantity,
        taken_by=user,
        idempotency_key=idempotency_key,
    )
    PurchaseOrder.objects.filter(pk=order.pk).update(
        new_tokens_delivered=F("new_tokens_delivered") + quantity
    )
    token_file = TokenFile.objects.create(
        delivery=delivery, targeted=targeted, total=quantity, **token_file_outbox()
    )
    return delivery, token_file.pk


def _check_rules(*, options: NewDeliveryOptions, eligible: bool, quantity: int) -> int:
    """Rules R1, R5, R6/R7 (``new_delivery_options``, asked about the locked row) and R3;
    returns the available count."""
    if options.order_refusal:
        raise DeliveryError(options.order_refusal)
    if not eligible:
        raise DeliveryError("product_not_eligible")
    too_many = options.quantity_refusal(quantity)
    if too_many:
        raise too_many
    return options.available


def new_delivery_void(
    *,
    delivery_id: int,
    user: User,
    reason: str,
    request: HttpRequest | None = None,
) -> NewDelivery:
    """Void a new delivery taken by mistake whose file was never downloaded (rule R14).

    Its tokens are marked revoked (kept, so never issued again), its file VOIDED (never served,
    never made if it was not yet), and its quantity returns to the order's available count. A
    targeted delivery's old tokens are issued again (they are still in the modules, since the
    new file was never downloaded) and may be listed again.
    Staff may void at any time; the manufacturer's own users within
    ``settings.NEW_DELIVERY_VOID_HOURS`` of the take. The caller checks that ``user`` may see the
    delivery (another manufacturer's is a 404); an unknown id raises ``DoesNotExist``.

    Locking contract: the order row, then the delivery and its file row, for the whole
    transaction. A download records itself under the file's row lock after checking it is
    READY (``token_file_download_record``), so a download and a void of one delivery serialize:
    the second sees the first. A void that finds the delivery already voided is refused as
    ``already_voided`` and changes nothing, so a resubmitted form voids once. Refusals raise
    ``DeliveryError``; the void is audited as ``delivery.voided``.
    """
    role_require(user=user, action="delivery.void", error=DeliveryError)
    reason = (reason or "").strip()
    if not reason:
        raise DeliveryError("void_reason_missing")
    order_id = NewDelivery.objects.values_list("order_id", flat=True).get(pk=delivery_id)
    with busy_refused_as(DeliveryError), transaction.atomic():
        order = lock_row(PurchaseOrder.objects.select_related("manufacturer"), pk=order_id)
        delivery = lock_row(NewDelivery.objects.all(), pk=delivery_id)
        token_file = TokenFile.objects.select_for_update().filter(delivery_id=delivery.pk).first()
        _check_voidable(delivery=delivery, token_file=token_file, user=user)
        delivery.voided_at = timezone.now()
        delivery.voided_by = user
        delivery.void_reason = reason[:500]
        with service_writes(NEW_DELIVERY):
            delivery.save(update_fields=["voided_at", "voided_by", "void_reason"])
            Token.objects.filter(delivery=delivery).update(
                status=Token.Status.REVOKED, retired_at=delivery.voided_at, replaces=None
            )
            replacements_release(delivery_id=delivery.pk)
            if token_file is not None:
                TokenFile.objects.filter(pk=token_file.pk).update(status=TokenFile.Status.VOIDED)
            PurchaseOrder.objects.filter(pk=order.pk).update(
                new_tokens_delivered=F("new_tokens_delivered") - delivery.quantity
            )
        available = order.available_new_tokens
        audit_record(
            action="delivery.voided",
            actor=user,
            obj=delivery,
            manufacturer=order.manufacturer,
            request=request,
            details={
                "order": order.number,
                "delivery": delivery.number,
                "quantity": delivery.quantity,
                "available_before": available,
                "available_after": available + delivery.quantity,
                "reason": reason[:500],
            },
        )
    return delivery


def _check_voidable(*, delivery: NewDelivery, token_file: TokenFile | None, user: User) -> None:
    if delivery.is_voided:
        raise DeliveryError("already_voided")
    if not user.is_staff:
        hours = settings.NEW_DELIVERY_VOID_HOURS
        if delivery.taken_at < timezone.now() - timedelta(hours=hours):
            raise DeliveryError("void_window_passed", hours=hours)
    if token_file is None:
        return
    if TokenDownload.objects.filter(token_file=token_file).exists():
        raise DeliveryError("void_downloaded")
    if token_file.status == TokenFile.Status.GENERATING:
        # Its tokens are being inserted in an open transaction; voiding now would let the job
        # finish the file READY after us.
        raise DeliveryError("void_generating")
