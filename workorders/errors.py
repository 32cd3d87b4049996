from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _

from accounts.access import ROLE_FORBIDDEN_MESSAGE
from refurb_portal.errors import DomainError


class WorkOrderError(DomainError):
    """A refused work-order change; ``message`` is translated and safe to show, and ``field``
    names the form field it belongs to (empty for the whole form)."""

    messages: ClassVar[dict[str, Any]] = {
        "description_empty": _("Describe what you need."),
        "contact_empty": _("Enter how staff can reach you (a name, phone number or email)."),
        "order_not_own": _("Choose one of your own purchase orders."),
        "too_many_attachments": _("Attach at most %(limit)s files."),
        "attachment_too_large": _(
            "%(name)s is %(size)s; attachments may be at most %(limit)s each."
        ),
        "attachment_type_refused": _(
            "%(name)s is not an accepted file type. Accepted: %(accepted)s."
        ),
        "attachment_content_mismatch": _(
            "%(name)s does not contain what its extension says; attach the file itself."
        ),
        "reply_empty": _("Write a message."),
        "not_open": _("This work order's status is “%(status)s”: it takes no more replies."),
        "transition_not_allowed": _(
            "A work order whose status is “%(from_status)s” cannot be set to “%(to_status)s”."
        ),
        "assignee_not_staff": _("Work orders can be assigned to active staff users only."),
        "tool_missing": _("Attach the tool file or enter a link to it."),
        "tool_both": _("Attach the tool file or enter a link, not both."),
        "tool_too_large": _("The tool file is %(size)s; it may be at most %(limit)s."),
        "tool_link_scheme": _("Enter an https:// or http:// link."),
        "tool_not_attached": _("No refurbishment tool is attached to this work order yet."),
        "not_permitted": _("You cannot change this work order."),
        "busy": _("This work order is being changed by someone else right now. Please try again."),
        "role_forbidden": ROLE_FORBIDDEN_MESSAGE,  # accounts.access.role_require
    }
    fields: ClassVar[dict[str, str]] = {
        "description_empty": "description",
        "contact_empty": "contact",
        "order_not_own": "order",
        "too_many_attachments": "attachments",
        "attachment_too_large": "attachments",
        "attachment_type_refused": "attachments",
        "attachment_content_mismatch": "attachments",
        "reply_empty": "body",
        "tool_too_large": "tool_file",
        "tool_link_scheme": "tool_link",
    }
    statuses: ClassVar[dict[str, int]] = {
        "role_forbidden": 403,
        "not_open": 409,
        "transition_not_allowed": 409,
        "busy": 409,
    }
