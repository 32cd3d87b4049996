from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _

from accounts.access import ROLE_FORBIDDEN_MESSAGE
from refurb_portal.errors import DomainError


class WebhookError(DomainError):
    """A refused endpoint or send; ``message`` is translated and safe to show."""

    messages: ClassVar[dict[str, Any]] = {
        "url_scheme": _("Enter an https:// URL."),
        "url_invalid": _("Enter a valid URL with a host name."),
        "target_refused": _(
            "%(host)s is on a loopback, private or link-local network; webhooks go only to "
            "public addresses."
        ),
        "target_unresolvable": _("%(host)s cannot be resolved."),
        "events_empty": _("Choose at least one event."),
        "form_reused": _(
            "This form was already sent and added its endpoint (in the list below; its signing "
            "secret was shown only that once). To add another, fill in the form again."
        ),
        "event_unknown": _("Unknown event: %(event)s."),
        "not_found": _("No such webhook endpoint."),
        "endpoint_disabled": _("This endpoint is disabled; enable it first."),
        "role_forbidden": ROLE_FORBIDDEN_MESSAGE,  # accounts.access.role_require
    }
    fields: ClassVar[dict[str, str]] = {
        "url_scheme": "url",
        "url_invalid": "url",
        "target_refused": "url",
        "target_unresolvable": "url",
        "events_empty": "events",
        "event_unknown": "events",
    }
    statuses: ClassVar[dict[str, int]] = {"role_forbidden": 403}
