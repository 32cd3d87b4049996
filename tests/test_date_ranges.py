"""One check of a range of dates (refurb_portal.forms) in every form that has one: a reversed
range is an error of its end, whose value the list then leaves out; an open range is fine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django import forms

from audit.forms import ActivityFilterForm
from deliveries.forms import NewDeliveryFilterForm
from orders.forms import PurchaseOrderFilterForm
from refurb_portal.forms import REVERSED_DATES, date_range_check
from tokens.lookup_forms import day_range_check

FORMS: list[tuple[Callable[[dict[str, str]], forms.Form], str, str]] = [
    (PurchaseOrderFilterForm, "created_from", "created_to"),
    (
        lambda data: NewDeliveryFilterForm(data, products=[], of_one_order=False),
        "taken_from",
        "taken_to",
    ),
    (lambda data: ActivityFilterForm(data, actions=[], people=[]), "date_from", "date_to"),
]


@pytest.mark.parametrize(("make", "start", "end"), FORMS)
def test_a_reversed_range_is_an_error_of_its_end_and_left_out(
    make: Callable[[dict[str, str]], Any], start: str, end: str
) -> None:
    form = make({start: "2026-11-30", end: "2026-11-01"})
    assert not form.is_valid()
    assert form.errors[end] == [str(REVERSED_DATES)]
    filters = form.valid_filters()
    assert filters[start] == dt.date(2026, 11, 30)
    assert filters[end] is None


@pytest.mark.parametrize(("make", "start", "end"), FORMS)
@pytest.mark.parametrize(
    "dates", [("2026-11-01", "2026-11-30"), ("2026-11-01", "2026-11-01"), ("", "2026-11-01")]
)
def test_a_range_in_order_or_open_is_kept(
    make: Callable[[dict[str, str]], Any], start: str, end: str, dates: tuple[str, str]
) -> None:
    form = make({start: dates[0], end: dates[1]})
    form.is_valid()
    assert start not in form.errors
    assert end not in form.errors


def test_the_revocation_lists_days_use_the_same_check() -> None:
    with pytest.raises(forms.ValidationError) as refused:
        day_range_check(dt.date(2026, 11, 30), dt.date(2026, 11, 1))
    assert refused.value.code == "reversed"
    with pytest.raises(forms.ValidationError) as direct:
        date_range_check(dt.date(2026, 11, 30), dt.date(2026, 11, 1))
    assert direct.value.messages == refused.value.messages == [str(REVERSED_DATES)]
    date_range_check(None, dt.date(2026, 11, 1))  # an open range
