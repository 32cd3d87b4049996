"""Identifiers that people type and URLs carry: order, contract and product numbers.

One shape for all of them: ASCII letters and digits, then letters, digits, ``-``, ``_`` or ``.``
(a first character that is a letter or digit, so that no number is ``.``/``..`` or starts with
punctuation). Nothing else: no ``/`` (it would split a URL), no spaces, no NUL, nothing outside
ASCII. The model fields validate it (admin forms show the message), a PostgreSQL CHECK backs it,
and ``IdentifierConverter`` makes URL patterns accept exactly the same strings.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

IDENTIFIER_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"
# The longest order number (``PurchaseOrder.number``), the only identifier in a URL path.
ORDER_NUMBER_MAX_LENGTH = 40

identifier_validator = RegexValidator(
    rf"\A{IDENTIFIER_PATTERN}\Z",
    _(
        "Use only ASCII letters, digits, hyphens (-), underscores (_) and dots (.), "
        "starting with a letter or a digit."
    ),
    code="invalid_identifier",
)


class OrderNumberConverter:
    """``<order_number:number>``: exactly the order numbers ``identifier_validator`` admits
    and ``PurchaseOrder.number`` can hold (1 to 40 characters)."""

    regex = rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{ORDER_NUMBER_MAX_LENGTH - 1}}}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


def new_delivery_number(sequence: int) -> str:
    """A new delivery's number from its sequence within its order: ``N001``, ``N012``,
    ``N1000`` (``NewDelivery.number``, and the lists that read rows without the model)."""
    return f"N{sequence:03d}"
