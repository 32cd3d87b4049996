from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _

from accounts.access import ROLE_FORBIDDEN_MESSAGE
from refurb_portal.errors import DomainError


class DeliveryError(DomainError):
    """A refused new delivery; ``message`` is translated and safe to show in the form."""

    messages: ClassVar[dict[str, Any]] = {
        "order_not_eligible": _(
            "No new token can be applied for on this order: it has no delivered modules or tokens."
        ),
        "nothing_available": _("No new token can be applied for: all delivered tokens are used."),
        "product_not_eligible": _("Choose a product that the new tokens of this order apply to."),
        "no_eligible_product": _(
            "None of your products is one that this order's new tokens apply to. "
            "Contact your business manager."
        ),
        "quantity_not_positive": _("Enter a whole number of at least 1."),
        "quantity_exceeds_available": _(
            "Only %(available)s new tokens are available on this order; "
            "enter a number from 1 to %(available)s."
        ),
        "key_reused": _(
            "This form was already submitted with a different product or quantity. "
            "Check the New delivery list of Token, then submit again to take another delivery."
        ),
        "busy": _("This order is being changed by someone else right now. Please try again."),
        "void_reason_missing": _("Give the reason for voiding this delivery."),
        "already_voided": _("This delivery is already voided; nothing was changed."),
        "void_downloaded": _(
            "This delivery cannot be voided: its token file was already downloaded, so its "
            "tokens may be in use."
        ),
        "void_generating": _(
            "This delivery's token file is being made right now. Try again in a moment."
        ),
        "void_window_passed": _(
            "This delivery was taken more than %(hours)s hours ago; ask our staff to void it."
        ),
        "role_forbidden": ROLE_FORBIDDEN_MESSAGE,  # accounts.access.role_require
        "old_uuids_too_long": _(
            "The list has more than %(limit)s lines; split it into several deliveries."
        ),
        "old_uuids_unreadable": _("This file could not be read as an Excel (.xlsx) workbook."),
        "old_uuids_empty": _("The list holds no UUID."),
        "old_uuids_unsupported": _(
            "Lists of old UUIDs are checked by PostgreSQL; this installation runs on SQLite "
            "(make run). Take the quantity without a list, or run the portal on PostgreSQL."
        ),
        "old_uuids_expired": _("This list is no longer available; give it again."),
        "old_uuids_problems": _(
            "%(problems)s lines of the list have problems; nothing was taken. Correct the list, "
            "or take the valid lines only."
        ),
        "old_uuids_changed": _(
            "The list now has %(valid)s valid lines, not %(quantity)s: another delivery replaced "
            "some of its tokens meanwhile. Nothing was taken; check the list again."
        ),
    }

    # The form field a refusal belongs to; the others are shown above the form.
    fields: ClassVar[dict[str, str]] = {
        "product_not_eligible": "product",
        "quantity_not_positive": "quantity",
        "quantity_exceeds_available": "quantity",
        "void_reason_missing": "reason",
    }
    statuses: ClassVar[dict[str, int]] = {"role_forbidden": 403}
