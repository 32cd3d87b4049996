"""The one table of allowed work-order status changes and who may make each.

Every status change goes through ``workorders.services.work_order_transition``, which refuses
any pair (from, to) that is not in ``TRANSITIONS`` for the acting side. Closed is final.
"""

from __future__ import annotations

import enum

from workorders.models import WorkOrder

Status = WorkOrder.Status


class Side(enum.Enum):
    """Who acts: the manufacturer in the portal, or platform staff in the admin."""

    MANUFACTURER = "manufacturer"
    STAFF = "staff"


M = frozenset({Side.MANUFACTURER})
S = frozenset({Side.STAFF})
MS = M | S

TRANSITIONS: dict[tuple[str, str], frozenset[Side]] = {
    # Staff take a new work order (assigning does this), work on it, answer or ask back.
    (Status.TO_BE_DISPATCHED, Status.TO_BE_PROCESSED): S,
    (Status.TO_BE_DISPATCHED, Status.PROCESSING): S,
    (Status.TO_BE_DISPATCHED, Status.AWAITING_FEEDBACK): S,
    (Status.TO_BE_DISPATCHED, Status.AWAITING_CONFIRMATION): S,
    (Status.TO_BE_DISPATCHED, Status.CLOSED): MS,
    (Status.TO_BE_PROCESSED, Status.TO_BE_DISPATCHED): S,
    (Status.TO_BE_PROCESSED, Status.PROCESSING): S,
    (Status.TO_BE_PROCESSED, Status.AWAITING_FEEDBACK): S,
    (Status.TO_BE_PROCESSED, Status.AWAITING_CONFIRMATION): S,
    (Status.TO_BE_PROCESSED, Status.CLOSED): MS,
    (Status.PROCESSING, Status.AWAITING_FEEDBACK): S,
    (Status.PROCESSING, Status.AWAITING_CONFIRMATION): S,
    (Status.PROCESSING, Status.CLOSED): MS,
    # The manufacturer's reply is the feedback: the work order goes back to staff.
    (Status.AWAITING_FEEDBACK, Status.PROCESSING): MS,
    (Status.AWAITING_FEEDBACK, Status.AWAITING_CONFIRMATION): S,
    (Status.AWAITING_FEEDBACK, Status.CLOSED): MS,
    # Only the manufacturer confirms that the answer solved it; staff may take it back.
    (Status.AWAITING_CONFIRMATION, Status.COMPLETED): M,
    (Status.AWAITING_CONFIRMATION, Status.PROCESSING): S,
    (Status.AWAITING_CONFIRMATION, Status.CLOSED): MS,
    (Status.COMPLETED, Status.CLOSED): MS,
}

# States in which the conversation is still open for replies.
OPEN_STATUSES = frozenset(
    {
        Status.TO_BE_DISPATCHED,
        Status.TO_BE_PROCESSED,
        Status.PROCESSING,
        Status.AWAITING_CONFIRMATION,
        Status.AWAITING_FEEDBACK,
    }
)

# The staff queue's order: what needs staff first, finished last.
QUEUE_ORDER = [
    Status.TO_BE_DISPATCHED,
    Status.TO_BE_PROCESSED,
    Status.PROCESSING,
    Status.AWAITING_FEEDBACK,
    Status.AWAITING_CONFIRMATION,
    Status.COMPLETED,
    Status.CLOSED,
]


def is_allowed(*, from_status: str, to_status: str, side: Side) -> bool:
    return side in TRANSITIONS.get((from_status, to_status), frozenset())


def allowed_targets(*, from_status: str, side: Side) -> list[str]:
    """The statuses ``side`` may move a work order in ``from_status`` to, in queue order."""
    return [
        status
        for status in QUEUE_ORDER
        if is_allowed(from_status=from_status, to_status=status, side=side)
    ]
