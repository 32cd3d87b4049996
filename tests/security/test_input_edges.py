"""The edges of a request: NUL bytes, overlong values and oversized bodies are refused (400,
413 or a form message), never a 500; identifiers have one shape everywhere."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from accounts.models import Manufacturer, User
from orders.models import Product, PurchaseOrder
from refurb_portal.identifiers import OrderNumberConverter
from refurb_portal.middleware import CappedUploadHandler
from tests.factories import ProductFactory, PurchaseOrderFactory
from tests.workorders.test_views import form_data

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")


@pytest.fixture(autouse=True)
def _english(settings: Any) -> Iterator[None]:
    """The messages compared below are the English ones."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


class Untouchable(io.RawIOBase):
    """A request body that fails the test if anyone reads it."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")

    readline = read  # type: ignore[assignment]


@pytest.mark.parametrize(
    "url",
    [
        "/purchase/orders/LIC-2026-0001%00/new-delivery/",
        "/purchase/orders/%00/new-deliveries/",
        "/work-orders/new/?order=%00",
        "/work-orders/?page=1%00",
        "/purchase/orders/?q=" + "x" * 30_000,
        "/" + "a" * 2000 + "/",
    ],
)
def test_nul_bytes_and_overlong_values_in_paths_and_queries_are_400(
    acme_client: Client, url: str
) -> None:
    assert acme_client.get(url).status_code == 400


def test_nul_bytes_in_admin_filters_are_400(staff_client: Client) -> None:
    changelist = reverse("admin:orders_purchaseorder_changelist")
    assert staff_client.get(changelist, {"manufacturer__id__exact": "1\x00"}).status_code == 400
    assert staff_client.get(changelist, {"q": "\x00"}).status_code == 400


def test_nul_bytes_and_overlong_values_in_headers_are_400(acme_client: Client) -> None:
    url = reverse("orders:purchase_order_list")
    assert acme_client.get(url, HTTP_USER_AGENT="evil\x00agent").status_code == 400
    assert acme_client.get(url, HTTP_ACCEPT_LANGUAGE="en," * 5000).status_code == 400
    assert acme_client.get(url, HTTP_USER_AGENT="a normal agent").status_code == 200


def test_nul_bytes_and_overlong_values_in_forms_are_400(acme_client: Client) -> None:
    url = reverse("workorders:submit")
    assert acme_client.post(url, {"description": "tool\x00please"}).status_code == 400
    assert acme_client.post(url, {"description": "x" * 30_000}).status_code == 400
    assert acme_client.post(url, {"x\x00": "1"}).status_code == 400


def test_a_400_character_username_gets_a_form_message(client: Client) -> None:
    response = client.post(LOGIN, {"username": "u" * 400, "password": "whatever-it-is"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert not AccessAttempt.objects.exists()


def test_an_oversized_body_is_refused_before_it_is_read(client: Client) -> None:
    """An anonymous 100 MB POST to the log-in page: 413 without reading a byte of it."""
    response = client.generic(
        "POST",
        LOGIN,
        b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(100 * 1024 * 1024),
        **{"wsgi.input": Untouchable()},
    )
    assert response.status_code == 413


def test_an_upload_view_takes_its_files_room_and_no_more(
    acme_client: Client, settings: Any
) -> None:
    settings.WORK_ORDER_ATTACHMENT_MAX_BYTES = 1024
    settings.WORK_ORDER_ATTACHMENT_MAX_FILES = 2
    url = reverse("workorders:submit")
    room = 2 * 1024 + settings.REQUEST_BODY_MAX_BYTES
    over = acme_client.generic(
        "POST", url, b"", CONTENT_LENGTH=str(room + 1), **{"wsgi.input": Untouchable()}
    )
    assert over.status_code == 413
    big = SimpleUploadedFile("big.pdf", b"%PDF-" + b"x" * 5000)
    within = acme_client.post(url, form_data(acme_client, attachments=[big]))
    assert within.status_code == 400  # the form's answer, with its message
    assert "attachments may be at most 1.0" in within.content.decode()


def test_a_file_past_its_limit_stops_being_stored_while_it_streams() -> None:
    request = RequestFactory().post("/")
    handler = CappedUploadHandler(request, limit=10)
    handler.new_file("file", "a.pdf", "application/pdf", None)
    assert handler.receive_data_chunk(b"x" * 8, 0) == b"x" * 8
    assert handler.receive_data_chunk(b"x" * 8, 8) is None  # the next handlers get nothing
    assert handler.receive_data_chunk(b"x" * 8, 16) is None
    capped = handler.file_complete(24)
    assert capped is not None
    assert (capped.size, capped.read()) == (24, b"")
    handler.new_file("file", "b.pdf", "application/pdf", None)
    assert handler.receive_data_chunk(b"y" * 10, 0) == b"y" * 10
    assert handler.file_complete(10) is None  # within the limit: completed as usual


# --- identifiers ----------------------------------------------------------------------------

BAD_IDENTIFIERS = [
    "LIC/2026",
    "LIC 2026",
    "LIC-2026\x00",
    "-LIC",
    ".",
    "..",
    "LIC-é",
    "LIC?x=1",
    "",
]
GOOD_IDENTIFIERS = ["LIC-2026-0001", "a", "A.b_c-9", "x" * 40]


@pytest.mark.parametrize("number", BAD_IDENTIFIERS)
def test_a_bad_order_number_is_refused_where_it_is_made(acme: Manufacturer, number: str) -> None:
    order = PurchaseOrderFactory.build(manufacturer=acme, number=number, contract_number="")
    with pytest.raises(ValidationError) as refused:
        order.full_clean(exclude=["products"])
    assert "number" in refused.value.error_dict
    if number and "\x00" not in number:  # PostgreSQL refuses NUL in any text by itself
        with pytest.raises(IntegrityError), transaction.atomic():
            PurchaseOrderFactory(manufacturer=acme, number=number, contract_number="")


def test_contract_numbers_and_product_ids_have_the_same_shape(acme: Manufacturer) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        PurchaseOrderFactory(manufacturer=acme, contract_number="CT/1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(manufacturer=acme, product_id="p 1")
    with pytest.raises(ValidationError):
        Product(product_id="p/1").clean_fields(exclude=["name", "category", "manufacturer"])
    PurchaseOrderFactory(manufacturer=acme, contract_number="")  # no contract: allowed


def test_the_admin_refuses_an_order_number_with_a_slash(staff_client: Client) -> None:
    response = staff_client.post(
        reverse("admin:orders_purchaseorder_add"), {"number": "LIC/2026", "quantity_ordered": 5}
    )
    assert response.status_code == 200
    assert "Use only ASCII letters, digits" in response.content.decode()
    assert not PurchaseOrder.objects.filter(number="LIC/2026").exists()


@pytest.mark.parametrize("number", BAD_IDENTIFIERS + GOOD_IDENTIFIERS + ["x" * 41])
def test_the_url_accepts_exactly_the_numbers_validation_admits(number: str) -> None:
    """The converter's pattern and the validator agree on every string (and the length)."""
    import re

    from refurb_portal.identifiers import identifier_validator

    try:
        identifier_validator(number)
        valid = len(number) <= PurchaseOrder._meta.get_field("number").max_length  # type: ignore[operator]
    except ValidationError:
        valid = False
    assert bool(re.fullmatch(OrderNumberConverter.regex, number)) is valid


def test_the_purchase_order_page_lists_every_order(acme_client: Client, acme_user: User) -> None:
    """The page that a "/" in one number broke for the whole company."""
    PurchaseOrderFactory(manufacturer=acme_user.manufacturer, number="A.b_c-9")
    assert acme_client.get(reverse("orders:purchase_order_list")).status_code == 200


def test_the_api_is_told_of_a_bad_request_as_problem_details(client: Client) -> None:
    """An API client gets RFC 9457 problem details for the request-edge refusals, as for every
    other refusal of the API (schemathesis checks the documented content types)."""
    nul = client.get("/api/v1/orders?q=%00")
    assert nul.status_code == 400
    assert nul["Content-Type"] == "application/problem+json"
    assert nul.json()["code"] == "bad_request"
    large = client.post(
        "/api/v1/work-orders",
        data=b"{}",
        content_type="application/json",
        CONTENT_LENGTH=str(10**9),
    )
    assert large.status_code == 413
    assert large.json()["code"] == "too_large"
    portal = client.get(LOGIN + "?next=%00")
    assert portal.status_code == 400
    assert portal["Content-Type"].startswith("text/html")
