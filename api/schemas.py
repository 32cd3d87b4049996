"""The API's request and response bodies (pydantic, through django-ninja)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from django.db.models import TextChoices
from ninja import Field, Schema
from pydantic import ConfigDict

from orders.models import PurchaseOrder
from tokens.models import Token, TokenFile
from workorders.models import WorkOrder

# PostgreSQL text cannot hold NUL: such input is refused as invalid (422), never a 500.
NO_NUL = r"^[^\x00]*$"


def one_of(*values: str) -> Any:
    """``Literal[values]``: the enum the schema documents and validates, built from a model's
    choices (``Model.Status.values``) so that a state added to the model is never a 500 here."""
    return Literal.__getitem__(values)


def choices_pattern(choices: type[TextChoices]) -> str:
    """A query parameter's pattern: one of ``choices``' values, or empty for "any"."""
    return "^(|" + "|".join(choices.values) + ")$"


# Every enum below is its model's choices (tests/api/test_file_states_and_errors.py checks it):
# mypy sees plain strings.
if TYPE_CHECKING:
    OrderType = str
    OrderStatus = str
    FileStatus = str
    WorkOrderType = str
    WorkOrderStatus = str
    RetiredStatus = str
else:
    OrderType = one_of(*PurchaseOrder.OrderType.values)
    OrderStatus = one_of(*PurchaseOrder.Status.values)
    FileStatus = one_of(*TokenFile.Status.values)
    WorkOrderType = one_of(*WorkOrder.Type.values)
    WorkOrderStatus = one_of(*WorkOrder.Status.values)
    # The revocation list holds retired tokens only: every status but issued.
    RetiredStatus = one_of(*(s for s in Token.Status.values if s != Token.Status.ISSUED))


class Problem(Schema):
    """RFC 9457 problem details, with the domain error's ``code``."""

    type: str = Field("about:blank", examples=["about:blank"])
    title: str = Field(..., examples=["Unprocessable Content"])
    status: int = Field(..., examples=[422])
    detail: str = Field(..., examples=["Only 600 new tokens are available on this order."])
    code: str = Field(..., examples=["quantity_exceeds_available"])
    errors: list[dict[str, object]] | None = None
    request_id: str | None = Field(
        None, description="On a 500: the request's id (as X-Request-ID), to quote to support."
    )


class ProductOut(Schema):
    product_id: str = Field(..., examples=["p000000000000001"])
    name: str = Field(..., examples=["Smart plug"])


class OrderOut(Schema):
    number: str = Field(..., examples=["LIC-2026-0001"])
    contract_number: str
    order_type: OrderType
    status: OrderStatus
    module: str | None = Field(None, description="The ordered module (module orders only).")
    products: list[ProductOut]
    ordered: int = Field(..., examples=[1000])
    delivered: int = Field(..., examples=[600])
    new_tokens_delivered: int = Field(..., examples=[0])
    available: int = Field(..., examples=[600])
    created_at: dt.datetime


class AvailabilityOut(Schema):
    ordered: int
    delivered: int
    original_delivery_count: int
    new_tokens_delivered: int
    new_delivery_count: int
    available: int
    undelivered: int
    explanation: str = Field(
        ...,
        description="How the count is reached, in the Accept-Language language (the "
        "sentences the Initiate new delivery page shows).",
        examples=[
            "Delivered 600 tokens in 1 original delivery. New tokens delivered: 0 in 0 "
            "new deliveries. Available: 600 - 0 = 600."
        ],
    )


class OrderDetailOut(OrderOut):
    availability: AvailabilityOut
    can_take: bool = Field(..., description="Whether a new delivery may be taken now (R1, R5).")
    eligible_products: list[ProductOut] = Field(
        ..., description="The products new tokens of this order apply to (R6, R7)."
    )


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None = Field(
        None, description="Pass as ?cursor= for the next page; null on the last page."
    )


class TokenFileOut(Schema):
    status: FileStatus = Field(
        ...,
        description="voided: its delivery was voided; the file is never made or served (410).",
    )
    done: int = Field(..., description="Tokens made so far.")
    total: int
    progress: float = Field(..., ge=0, le=1, examples=[0.5])
    rows: int | None = None
    size_bytes: int | None = None
    sha256: str | None = Field(None, description="Hex SHA-256 of the file, once ready.")
    download_url: str | None = Field(None, description="Where to download it, once ready.")


class DeliveryOut(Schema):
    id: int = Field(..., examples=[42])
    order: str = Field(..., examples=["LIC-2026-0001"])
    number: str = Field(..., examples=["N001"])
    product: ProductOut
    quantity: int = Field(..., examples=[100])
    taken_at: dt.datetime
    taken_by: str
    file: TokenFileOut | None


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None = None


class BodyIn(Schema):
    """A request body: its values must be of their JSON type (strict). Lax parsing would take
    ``true``, ``"2"``, ``2.0`` and ``1e2`` as quantities and make deliveries of them; the web form
    refuses each (``deliveries.forms.parse_quantity``), so the API does too."""

    model_config = ConfigDict(strict=True)


class TakeIn(BodyIn):
    product_id: str = Field(
        ...,
        max_length=64,
        pattern=NO_NUL,
        description="One of the order's eligible_products.",
        examples=["p000000000000001"],
    )
    # Documented as 1..2^31-1 but not enforced here: the service refuses anything else with
    # the portal's own message (quantity_not_positive, quantity_exceeds_available).
    quantity: int = Field(
        ...,
        description="From 1 to the order's available count (R3).",
        examples=[100],
        json_schema_extra={"minimum": 1, "maximum": 2_147_483_647},
    )


class TakenOut(Schema):
    """What a take answers; a replay with the same Idempotency-Key answers the same."""

    id: int = Field(..., examples=[42])
    order: str = Field(..., examples=["LIC-2026-0001"])
    number: str = Field(..., examples=["N001"])
    product: ProductOut
    quantity: int = Field(..., examples=[100])
    taken_at: dt.datetime
    taken_by: str


class MessageOut(Schema):
    from_staff: bool
    author: str
    body: str
    created_at: dt.datetime


class WorkOrderOut(Schema):
    id: int = Field(..., examples=[7])
    type: WorkOrderType
    status: WorkOrderStatus = Field(..., examples=["to_dispatch"])
    status_label: str = Field(..., examples=["To be dispatched"])
    order: str | None = None
    description: str
    contact: str
    created_at: dt.datetime
    status_changed_at: dt.datetime
    tool_available: bool


class WorkOrderDetailOut(WorkOrderOut):
    messages: list[MessageOut]


class WorkOrderPage(Schema):
    items: list[WorkOrderOut]
    next_cursor: str | None = None


class WorkOrderIn(BodyIn):
    type: WorkOrderType = Field("tool", examples=["tool"])
    order: str | None = Field(None, max_length=40, pattern=NO_NUL, examples=["LIC-2026-0001"])
    description: str = Field(
        ..., max_length=5000, pattern=NO_NUL, examples=["Please send the tool."]
    )
    contact: str = Field(
        ..., max_length=200, pattern=NO_NUL, examples=["Jane Doe, jane@example.com"]
    )


class ReplyIn(BodyIn):
    body: str = Field(..., max_length=5000, pattern=NO_NUL, examples=["The tool works, thank you."])


class RevokedTokenOut(Schema):
    uuid: str = Field(..., examples=["k3v9q2m8x1c7b4n6z0p5"])
    status: RetiredStatus = Field(
        ..., description="replaced: a new token took its module; revoked: its delivery was voided."
    )
    retired_at: dt.datetime = Field(..., description="When it was replaced or revoked.")
    order: str = Field(..., examples=["LIC-2026-0001"])
    product_id: str = Field(..., examples=["p000000000000001"])
    replaced_by: str | None = Field(None, description="The UUID of the token that replaced it.")


class RevokedTokenPage(Schema):
    items: list[RevokedTokenOut]
    next_cursor: str | None = None
