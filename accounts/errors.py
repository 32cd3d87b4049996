from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _

from accounts.access import ROLE_FORBIDDEN_MESSAGE
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
        # Forgot password and the team (issue #18).
        "rate_limited_password.reset_address": _(
            "Too many password reset requests from your network. Please wait %(seconds)s "
            "seconds and try again."
        ),
        "rate_limited_password.reset_email": _(
            "Too many password reset requests for this email address. Please wait "
            "%(seconds)s seconds and try again."
        ),
        "role_forbidden": ROLE_FORBIDDEN_MESSAGE,
        "already_member": _("%(email)s is already in your team."),
        "email_taken": _(
            "This email address already has a portal account, so the invitation cannot make "
            "another: log in with that account, or ask the administrator who invited you to "
            "use another address."
        ),
        "not_yourself": _(
            "You cannot change your own role or deactivate yourself: ask another administrator."
        ),
        "last_administrator": _("Your company must keep at least one active administrator."),
        "role_unknown": _("Choose administrator, planner or viewer."),
        "invitation_invalid": _(
            "This invitation link is not valid any more: it was used, withdrawn or has "
            "expired. Ask your company's administrator for a new one."
        ),
        "already_inactive": _("%(username)s is already deactivated."),
        "busy": _("Someone else is changing your team right now. Please try again."),
    }
    fields: ClassVar[dict[str, str]] = {"already_member": "email", "role_unknown": "role"}
    statuses: ClassVar[dict[str, int]] = {
        "role_forbidden": 403,
        "not_yourself": 409,
        "last_administrator": 409,
        "invitation_invalid": 410,
        "already_inactive": 409,
        "busy": 409,
    }
