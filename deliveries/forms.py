"""The Initiate new delivery form: parses what was typed, strictly. The rules (R1, R3, R5-R7)
are checked by ``new_delivery_take`` under the order's row lock, never here, so that the one
check that counts is the one made while nothing can change."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from orders.models import Product
from refurb_portal.forms import date_range_clean
from tokens.models import TokenFile

# The largest value of the database's quantity column (a PostgreSQL ``integer``).
MAX_QUANTITY = 2_147_483_647
ASCII_DIGITS = re.compile(r"[0-9]+")
SIGNED_NUMBER = re.compile(r"[+-][0-9]+")
GROUPED_NUMBER = re.compile(r"[0-9]+([,_' ][0-9]+)+")
DECIMAL_NUMBER = re.compile(r"[+-]?([0-9]*\.[0-9]+|[0-9]+\.)")
# Longer than any product's primary key can be; keeps int() away from megabyte inputs.
MAX_ID_DIGITS = 18


def parse_quantity(value: str, *, available: int) -> int:
    """A whole number from 1 up, typed with the ASCII digits 0-9 and nothing else.

    Python's ``int()`` would accept full-width digits, "+5", " 5" and "1_000"; a quantity of
    tokens should read the same to the person, the server and the audit trail, so only plain
    digits pass.
    """
    if ASCII_DIGITS.fullmatch(value):
        significant = value.lstrip("0")
        if not significant:
            raise ValidationError(_("Enter a number of at least 1."), code="min_value")
        if len(significant) > len(str(MAX_QUANTITY)) or int(significant) > MAX_QUANTITY:
            raise ValidationError(
                _(
                    "That number is far too large: %(available)s new tokens are available "
                    "on this order."
                ),
                code="max_value",
                params={"available": available},
            )
        return int(significant)
    if any(char.isdigit() and not char.isascii() for char in value):
        raise ValidationError(
            _("Type the number with the digits 0 to 9 (not full-width or other digits)."),
            code="not_ascii",
        )
    if SIGNED_NUMBER.fullmatch(value):
        raise ValidationError(_("Enter a number of at least 1, without a sign."), code="signed")
    if GROUPED_NUMBER.fullmatch(value):
        raise ValidationError(
            _("Type the number without separators or spaces, for example 1000."), code="grouped"
        )
    if DECIMAL_NUMBER.fullmatch(value):
        raise ValidationError(
            _("Enter a whole number: tokens are not taken in parts."), code="not_whole"
        )
    raise ValidationError(_("Enter a whole number, for example 250."), code="invalid")


class ProductIdField(forms.Field):
    """A product chosen in a select of the eligible products, read as an id.

    Whether the id is eligible is decided by ``new_delivery_take`` under the lock, which also
    records a refusal in the audit trail; here it only has to be an id.
    """

    widget = forms.Select
    default_error_messages = {
        "required": _("Choose a product."),
        "invalid": _("Choose a product from the list."),
    }

    def to_python(self, value: Any) -> int | None:
        text = str(value).strip() if value is not None else ""
        if not text:
            return None
        if not ASCII_DIGITS.fullmatch(text) or len(text) > MAX_ID_DIGITS:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return int(text)


class NewDeliveryForm(forms.Form):
    """Product, Quantity, and the idempotency key made when the form was rendered."""

    product = ProductIdField(label=_("Product"))
    quantity = forms.CharField(
        label=_("Quantity"),
        error_messages={"required": _("Enter how many new tokens to take.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    idempotency_key = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("This form is out of date. Submit it again."),
            "invalid": _("This form is out of date. Submit it again."),
        },
    )

    def __init__(
        self,
        data: Any = None,
        *,
        products: Iterable[Product],
        available: int,
        initial_product: int | None = None,
    ) -> None:
        super().__init__(
            data,
            initial={"idempotency_key": uuid.uuid4(), "product": initial_product},
        )
        self.available = available
        choices: list[tuple[str | int, str]] = [("", str(_("Choose a product")))]
        choices += [(product.pk, f"{product.name} ({product.product_id})") for product in products]
        self.fields["product"].widget.choices = choices
        self.fields["quantity"].help_text = _("A whole number from 1 to %(available)s.") % {
            "available": available
        }

    def clean_quantity(self) -> int:
        return parse_quantity(self.cleaned_data["quantity"], available=self.available)

    def renew_key(self) -> None:
        """Give a bound form a fresh key, so that its next submission is a new request."""
        self.data = {**dict(self.data.items()), "idempotency_key": str(uuid.uuid4())}


class VoidForm(forms.Form):
    """Void a new delivery (rule R14): the reason is required, kept and shown."""

    reason = forms.CharField(label=_("Reason for voiding"), max_length=500, strip=True)


class NewDeliveryFilterForm(forms.Form):
    """The filters of the New delivery list of Token (an order's list has no order filter).
    Invalid values are reported and ignored."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.SearchInput(
            attrs={"placeholder": _("Delivery or order number, product, who took it")}
        ),
    )
    order = forms.CharField(label=_("Order number"), required=False, max_length=60)
    product = forms.TypedChoiceField(
        label=_("Product"), required=False, coerce=int, empty_value=None
    )
    state = forms.ChoiceField(
        label=_("File"),
        required=False,
        choices=[("", _("All states")), *TokenFile.Status.choices],
    )
    taken_from = forms.DateField(
        label=_("Taken from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    taken_to = forms.DateField(
        label=_("Taken to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self, data: Any = None, *, products: Iterable[Product], of_one_order: bool
    ) -> None:
        super().__init__(data)
        self.fields["product"].choices = [  # type: ignore[attr-defined]
            ("", _("All products")),
            *((product.pk, f"{product.name} ({product.product_id})") for product in products),
        ]
        if of_one_order:
            del self.fields["order"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        date_range_clean(self, cleaned, "taken_from", "taken_to")
        return cleaned

    def valid_filters(self) -> dict[str, Any]:
        """The selector's filters whose values are valid; an invalid one is left out."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        valid = {name: data.get(name) for name in self.fields if name not in self.errors}
        return {
            "search": valid.get("q") or "",
            "order_number": (valid.get("order") or "").strip(),
            "product": valid.get("product"),
            "state": valid.get("state") or "",
            "taken_from": valid.get("taken_from"),
            "taken_to": valid.get("taken_to"),
        }


class OldUuidListForm(forms.Form):
    """A targeted delivery's list, to be checked: pasted, or a .csv, .txt or .xlsx file (a
    ``uuid`` column in any case, or one value a line). Only parsed here; each line is judged by
    ``deliveries.old_uuids`` against the order's tokens."""

    old_uuids = forms.CharField(
        label=_("Old UUIDs, one a line"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off"}),
        help_text=_("Paste up to about 900 lines here; upload a file for more."),
    )
    old_uuids_file = forms.FileField(
        label=_("Or a file of old UUIDs (.csv, .txt or .xlsx)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
        help_text=_("A column named uuid, or one value a line; up to 1,000,000 lines."),
    )

    def clean_old_uuids_file(self) -> Any:
        upload = self.cleaned_data.get("old_uuids_file")
        if upload and not upload.name.lower().endswith((".csv", ".txt", ".xlsx")):
            raise ValidationError(_("Upload a .csv, .txt or .xlsx file."), code="extension")
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("old_uuids_file") and not (cleaned.get("old_uuids") or "").strip():
            raise ValidationError(
                _("Paste the old UUIDs or choose a file of them."), code="required"
            )
        return cleaned


class TargetedTakeForm(forms.Form):
    """Take a delivery for a checked list: its key, the count of valid lines the page showed,
    whether the problems were accepted, the product, and the idempotency key."""

    product = ProductIdField(label=_("Product"))
    list_key = forms.RegexField(regex=r"^[A-Za-z0-9_-]{16,64}$", widget=forms.HiddenInput)
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, widget=forms.HiddenInput)
    valid_only = forms.BooleanField(required=False, widget=forms.HiddenInput)
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(
        self,
        data: Any = None,
        *,
        products: Iterable[Product],
        initial: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(data, initial={"idempotency_key": uuid.uuid4(), **(initial or {})})
        choices: list[tuple[str | int, str]] = [("", str(_("Choose a product")))]
        choices += [(product.pk, f"{product.name} ({product.product_id})") for product in products]
        self.fields["product"].widget.choices = choices
