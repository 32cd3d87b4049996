"""The base of every app's one domain exception (``OrderError``, ``DeliveryError``, ...).

Each subclass lists its refusals in ``messages`` (code -> translated text with ``%(name)s``
parameters), where a refusal belongs to one form field in ``fields``, and the HTTP status a page
answers it with in ``statuses`` (400, bad input, unless listed: 409 for a state that forbids the
change or a row busy elsewhere, 503 for something missing on our side). Views show ``message``
to people, put it on ``field`` when there is one, and answer with ``status``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    messages: ClassVar[dict[str, Any]] = {}
    fields: ClassVar[dict[str, str]] = {}
    statuses: ClassVar[dict[str, int]] = {}

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = str(self.messages[self.code])
        return text % self.params if self.params else text

    @property
    def field(self) -> str | None:
        return self.fields.get(self.code)

    @property
    def status(self) -> int:
        """The HTTP status of a page that answers this refusal."""
        return self.statuses.get(self.code, 400)
