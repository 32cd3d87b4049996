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
        "record_key_reused": _("This form was already used for another order. Reload the page."),
    }
