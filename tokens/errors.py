from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _

from refurb_portal.errors import DomainError


class TokenFileError(DomainError):
    """A token file that cannot be made, served or retried; ``message`` is translated and safe
    to show (it never holds a token value)."""

    messages: ClassVar[dict[str, Any]] = {
        "not_ready": _(
            "This token file is not ready yet. It is made in the background and the New delivery "
            "list of Token shows its progress; download it once it says Ready."
        ),
        "failed": _(
            "This token file could not be made. Our staff can see why and will retry it; "
            "the tokens of a delivery are never issued twice."
        ),
        "missing": _(
            "This token file cannot be read from storage right now. Please try again later or "
            "contact support."
        ),
        "no_workbook": _(
            "The Excel (.xlsx) License List of this token file has not been made yet. Download "
            "the CSV, or ask our staff to make the Excel file."
        ),
        "none_ready": _(
            "No token file of this order is ready in this format yet. The New delivery list of "
            "Token shows each file's progress."
        ),
        "not_retryable": _("Only a failed token file can be retried."),
        "voided": _(
            "This delivery was voided: its tokens are revoked and its file can no longer be "
            "downloaded."
        ),
        "interrupted": _(
            "Attempt %(attempt)s was interrupted by a database error that may pass (%(reason)s); "
            "it is tried again."
        ),
        "gave_up": _("Stopped after %(attempts)s attempts that did not finish."),
        "collisions": _(
            "New tokens kept colliding with issued ones after %(attempts)s tries; "
            "the random source may be broken."
        ),
        "inconsistent": _(
            "The delivery holds %(found)s tokens numbered up to %(last)s, but it should hold "
            "%(total)s numbered from 1."
        ),
        "no_product": _("Order %(order)s has no product for its original tokens."),
        "row_count": _("The file has %(rows)s rows but the delivery holds %(total)s tokens."),
    }
    statuses: ClassVar[dict[str, int]] = {
        "not_ready": 409,
        "failed": 409,
        "voided": 409,
        "missing": 503,
        "no_workbook": 409,
        "none_ready": 409,
    }
