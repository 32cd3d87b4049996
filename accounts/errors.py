from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _

from refurb_portal.errors import DomainError


class AccountError(DomainError):
    """A refused account or security step; ``message`` is translated and safe to show."""

    messages: ClassVar[dict[str, Any]] = {
        "code_invalid": _("That code is not valid. Enter the current code from your app."),
        "code_throttled": _(
            "Too many wrong codes. Wait %(seconds)s seconds, then enter the current code."
        ),
        "already_enrolled": _("Two-factor authentication is already set up for your account."),
        "address_throttled": _(
            "Too many failed log ins from your network. Please try again in %(minutes)s minutes."
        ),
        "rate_limited_delivery.take_user": _(
            "Too many attempts: you have made %(limit)s take delivery attempts in the last "
            "minute, the most allowed. Please wait %(seconds)s seconds and try again."
        ),
        "rate_limited_delivery.take_manufacturer": _(
            "Too many attempts: your company has made %(limit)s take delivery attempts in the "
            "last minute, the most allowed. Please wait %(seconds)s seconds and try again."
        ),
        "rate_limited_tokens.download_user": _(
            "You have downloaded %(limit)s token files in the last minute, the most allowed. "
            "Please wait %(seconds)s seconds and try again."
        ),
        "rate_limited_tokens.download_manufacturer": _(
            "Your company has downloaded %(limit)s token files in the last minute, the most "
            "allowed. Please wait %(seconds)s seconds and try again."
        ),
    }
