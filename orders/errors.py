from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _

from refurb_portal.errors import DomainError


class OrderError(DomainError):
    """A refused change to an order; ``message`` is translated and safe to show."""

    messages: ClassVar[dict[str, Any]] = {
        "quantity_not_positive": _("Enter a whole number of at least 1."),
        "exceeds_undelivered": _(
            "Only %(undelivered)s of the %(ordered)s ordered are still undelivered; "
            "%(quantity)s cannot be recorded."
        ),
        "order_cancelled": _("This order is cancelled; no delivery can be recorded."),
        "busy": _("This order is being changed by someone else right now. Please try again."),
        "reason_missing": _("Give the reason: it is kept in the audit trail."),
        "already_reversed": _("This original delivery was already reversed."),
        "reversal_tokens_replaced": _(
            "This original delivery cannot be reversed: %(replaced)s of its tokens were already "
            "replaced by new deliveries. Void those new deliveries first."
        ),
        "reversal_generating": _(
            "The tokens of this original delivery are being made right now. Try again in a moment."
        ),
        "reversal_below_new_tokens": _(
            "Reversing this delivery of %(quantity)s would leave %(after)s delivered of the "
            "%(delivered)s now, below the %(new_tokens)s new tokens already delivered on the "
            "order. Void new deliveries first, or reverse a smaller delivery."
        ),
        "ordered_below_delivered": _(
            "The ordered quantity cannot be %(ordered)s: %(delivered)s are already delivered."
        ),
        "status_disagrees": _(
            "The status cannot be “%(status)s”: the delivered quantity says "
            "“%(expected)s”. Staff may set Cancelled; the other statuses follow the "
            "original deliveries."
        ),
        "manufacturer_fixed": _(
            "The manufacturer cannot change: this order already has deliveries, and its "
            "tokens belong to its manufacturer. Reverse the original deliveries and void the "
            "new deliveries first, or create a new order."
        ),
        "product_of_other_manufacturer": _(
            "These products belong to another manufacturer than the order's: %(products)s."
        ),
        "product_manufacturer_fixed": _(
            "The manufacturer cannot change: this product is on orders of its manufacturer "
            "(%(orders)s) or in new deliveries."
        ),
        "record_key_reused": _("This form was already used for another order. Reload the page."),
    }

    # The admin form field a refusal belongs to; the others are shown above the form.
    fields: ClassVar[dict[str, str]] = {
        "ordered_below_delivered": "quantity_ordered",
        "status_disagrees": "status",
        "manufacturer_fixed": "manufacturer",
        "product_of_other_manufacturer": "products",
        "product_manufacturer_fixed": "manufacturer",
        "reason_missing": "reason",
    }
