"""The form parses strictly; the rules themselves are the service's (see test_services)."""

from __future__ import annotations

import uuid

import pytest

from deliveries.forms import NewDeliveryForm


def bind(quantity: str, product: str = "7", key: str | None = None) -> NewDeliveryForm:
    form = NewDeliveryForm(
        {
            "product": product,
            "quantity": quantity,
            "idempotency_key": key if key is not None else str(uuid.uuid4()),
        },
        products=[],
        available=600,
    )
    form.is_valid()
    return form


@pytest.mark.parametrize(
    ("typed", "value"),
    [("7", 7), (" 7 ", 7), ("\t250\n", 250), ("600", 600), ("007", 7), ("2147483647", 2147483647)],
)
def test_plain_digits_are_accepted_and_trimmed(typed: str, value: int) -> None:
    form = bind(typed)
    assert form.errors == {}
    assert form.cleaned_data["quantity"] == value


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter how many new tokens to take."),
        ("   ", "Enter how many new tokens to take."),
        ("0", "Enter a number of at least 1."),
        ("000", "Enter a number of at least 1."),
        ("-5", "Enter a number of at least 1, without a sign."),
        ("+5", "Enter a number of at least 1, without a sign."),
        ("1.5", "Enter a whole number: tokens are not taken in parts."),
        ("2.", "Enter a whole number: tokens are not taken in parts."),
        ("1,000", "Type the number without separators or spaces, for example 1000."),
        ("1 000", "Type the number without separators or spaces, for example 1000."),
        ("1_000", "Type the number without separators or spaces, for example 1000."),
        ("abc", "Enter a whole number, for example 250."),
        ("1e3", "Enter a whole number, for example 250."),
        ("0x10", "Enter a whole number, for example 250."),
        ("\uff15", "Type the number with the digits 0 to 9 (not full-width or other digits)."),
        ("1\uff10", "Type the number with the digits 0 to 9 (not full-width or other digits)."),
        ("\u0665", "Type the number with the digits 0 to 9 (not full-width or other digits)."),
        ("\u00b2", "Type the number with the digits 0 to 9 (not full-width or other digits)."),
        ("2147483648", "That number is far too large: 600 new tokens are available"),
        ("1" * 30, "That number is far too large: 600 new tokens are available"),
        ("9" * 5000, "That number is far too large: 600 new tokens are available"),
    ],
)
def test_bad_quantities_get_a_clear_message(typed: str, message: str) -> None:
    form = bind(typed)
    assert not form.is_valid()
    assert list(form.errors) == ["quantity"]
    assert message in form.errors["quantity"][0]


@pytest.mark.parametrize("product", ["", "abc", "-1", "1.0", "\uff11", "9" * 19])
def test_product_must_be_an_id(product: str) -> None:
    form = bind("5", product=product)
    assert list(form.errors) == ["product"]


@pytest.mark.parametrize("key", ["", "not-a-uuid"])
def test_a_missing_or_broken_key_asks_to_submit_again_with_a_fresh_key(key: str) -> None:
    form = bind("5", key=key)
    assert form.errors["idempotency_key"] == ["This form is out of date. Submit it again."]
    form.renew_key()
    renewed = form["idempotency_key"].value()
    assert uuid.UUID(renewed).version == 4  # uuid.UUID raises on anything but a UUID
    assert f'value="{renewed}"' in str(form["idempotency_key"])  # what the page will send


def test_an_unbound_form_carries_a_new_key_each_time() -> None:
    first = NewDeliveryForm(products=[], available=1)
    second = NewDeliveryForm(products=[], available=1)
    assert first["idempotency_key"].value() != second["idempotency_key"].value()
