from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _

from accounts.access import ROLE_FORBIDDEN_MESSAGE
from refurb_portal.errors import DomainError


class ApiError(DomainError):
    """A refused API key change or API request; ``message`` is translated and safe to show.

    ``status`` is the HTTP status the API answers with (RFC 9457 problem details): 422 unless
    listed in ``statuses``."""

    messages: ClassVar[dict[str, Any]] = {
        "name_empty": _("Give the key a name, for example the line or system that uses it."),
        "scopes_empty": _("Choose at least one permission."),
        "scope_unknown": _("Unknown permission: %(scope)s."),
        "expiry_past": _("Choose an expiry date in the future."),
        "form_reused": _(
            "This form was already sent and made its key (in the list below; its secret was "
            "shown only that once). To make another key, fill in the form again."
        ),
        "key_not_found": _("No such API key."),
        "already_revoked": _("This API key is already revoked."),
        "unauthorized": _(
            "Send a valid, unexpired API key as Authorization: Bearer <key>. "
            "Keys are made under API keys in the portal."
        ),
        "scope_missing": _("This API key may not do this: it lacks the %(scope)s permission."),
        "not_found": _("Not found."),
        "invalid_request": _("The request is not valid: %(detail)s"),
        "body_not_json": _("The request body is not valid JSON."),
        "invalid_cursor": _("The cursor is not one this API gave out; start from the first page."),
        "idempotency_key_invalid": _(
            "Idempotency-Key must be 1 to 255 printable ASCII characters."
        ),
        "idempotency_key_reused": _(
            "This Idempotency-Key was already used with a different request; use a new key."
        ),
        "rate_limited": _("Too many requests with this API key; try again in %(seconds)s s."),
        "range_not_satisfiable": _("The requested range is not within the file."),
        "server_error": _(
            "Something went wrong on our side. The error was recorded under request id "
            "%(request_id)s; please try again in a moment. A take resent with the same "
            "Idempotency-Key is never taken twice."
        ),
        "role_forbidden": ROLE_FORBIDDEN_MESSAGE,  # accounts.access.role_require
    }
    statuses: ClassVar[dict[str, int]] = {
        "body_not_json": 400,
        "unauthorized": 401,
        "scope_missing": 403,
        "role_forbidden": 403,
        "not_found": 404,
        "key_not_found": 404,
        "idempotency_key_reused": 422,
        "rate_limited": 429,
        "range_not_satisfiable": 416,
        "server_error": 500,
    }

    @property
    def status(self) -> int:
        return self.statuses.get(self.code, 422)
