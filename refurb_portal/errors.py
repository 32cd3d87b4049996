"""The base of every app's one domain exception (``OrderError``, ``DeliveryError``, ...).

Each subclass lists its refusals in ``messages`` (code -> translated text with ``%(name)s``
parameters) and, where a refusal belongs to one form field, in ``fields``; views show
``message`` to people and put it on ``field`` when there is one.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    messages: ClassVar[dict[str, Any]] = {}
    fields: ClassVar[dict[str, str]] = {}

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
