"""The Initiate new delivery page, through the views: HTMX and plain round trips, R5, bad input,
tenancy, CSRF, methods, and the seed's worked example end to end."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from deliveries.models import NewDelivery
from orders.models import Product, PurchaseOrder
from orders.services import original_delivery_record
from tests.conftest import delivered_license_order
from tests.deliveries.conftest import form_key, page_text, state, take
from tests.factories import ModuleFactory, ModuleOrderFactory, ProductFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
MINUS = "\u2212"  # the explanation writes a real minus sign


def url(order: PurchaseOrder) -> str:
    return reverse("deliveries:initiate", args=[order.number])


def first_product(order: PurchaseOrder) -> Product:
    product = order.products.order_by("pk").first()
    assert product is not None
    return product


def post_data(client: Client, order: PurchaseOrder, **fields: Any) -> dict[str, Any]:
    """What the rendered form would send, with ``fields`` typed over it."""
    page = client.get(url(order))
    data = {"product": str(first_product(order).pk), "idempotency_key": form_key(page)}
    data.update(fields)
    return data


# --- The page ------------------------------------------------------------------------------


def test_the_page_shows_the_order_the_form_and_the_available_count(
    acme_client: Client, seed_order: PurchaseOrder, acme: Manufacturer
) -> None:
    outsider = ProductFactory(manufacturer=acme, name="Not On This Order")
    response = acme_client.get(url(seed_order))
    assert response.status_code == 200
    html = response.content.decode()
    text = page_text(response)
    assert "Initiate new delivery: LIC-2026-0001" in text
    assert "Device license order" in text
    assert '<label for="id_product">Product</label>' in html
    assert '<label for="id_quantity">Quantity</label>' in html
    assert '<button type="submit" class="button">Take delivery</button>' in html
    options = [p.name for p in seed_order.products.order_by("name")]
    for name in options:
        assert f">{name} (" in html
    assert outsider.name not in text
    assert "Available new tokens: 600" in text
    assert "Delivered 600 tokens in 1 original delivery." in text
    assert "New tokens delivered: 0 in 0 new deliveries." in text
    assert f"Available: 600 {MINUS} 0 = 600." in text
    assert "Still undelivered: 400 of the 1,000 ordered." in text
    # The available count is at the bottom: after the form.
    assert html.index("Take delivery</button>") < html.index("Available new tokens:")
    uuid.UUID(form_key(response))


def test_the_form_posts_with_htmx_and_without_and_locks_its_button_in_flight(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    html = acme_client.get(url(seed_order)).content.decode()
    assert f'method="post" action="{url(seed_order)}"' in html
    assert f'hx-post="{url(seed_order)}"' in html
    assert 'hx-target="#take-delivery"' in html
    assert "hx-disabled-elt=\"find button[type='submit']\"" in html
    assert 'hx-sync="this:drop"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'id="messages" aria-live="polite"' in html


def test_each_rendering_carries_a_new_idempotency_key(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    keys = {form_key(acme_client.get(url(seed_order))) for _ in range(3)}
    assert len(keys) == 3


def test_module_order_page_lists_the_r6_products(acme_client: Client, acme: Manufacturer) -> None:
    wb3s = ModuleFactory(code="WB3S")
    strip = ProductFactory(manufacturer=acme, name="Strip", modules=[wb3s])
    ProductFactory(manufacturer=acme, name="Sibling", category=strip.category)
    ProductFactory(manufacturer=acme, name="Plug", modules=[wb3s])
    ProductFactory(manufacturer=acme, name="Bulb")
    order = ModuleOrderFactory(manufacturer=acme, module=wb3s, products=[strip])
    original_delivery_record(order_id=order.pk, quantity=300, user=None)
    response = acme_client.get(url(order))
    names = [
        label.split(" (")[0]
        for _, label in response.context["form"]["product"].field.widget.choices[1:]
    ]
    assert names == ["Plug", "Sibling", "Strip"]
    assert "Delivered 300 modules in 1 original delivery." in page_text(response)


# --- Taking delivery -----------------------------------------------------------------------


def test_htmx_take_swaps_the_form_and_count_and_announces_success(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    data = post_data(acme_client, seed_order, quantity="250")
    response = acme_client.post(url(seed_order), data, headers=HTMX)
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="take-delivery"')
    assert "<html" not in html
    text = page_text(response)
    assert "Available new tokens: 350" in text
    assert "New tokens delivered: 250 in 1 new delivery." in text
    # The success message goes into the page's live region, which stays in place.
    assert '<div id="messages" hx-swap-oob="innerHTML"><p class="notice notice--success">' in html
    assert "Delivery N001 taken: 250 new tokens for" in text
    list_url = reverse("deliveries:order_delivery_list", args=[seed_order.number])
    assert f'<a href="{list_url}">New delivery list of Token</a>' in html
    # The quantity is cleared, the product kept, and the next submission is a new request.
    form = response.context["form"]
    assert form["quantity"].value() in (None, "")
    assert form["product"].value() == int(data["product"])
    assert form_key(response) != data["idempotency_key"]
    seed_order.refresh_from_db()
    assert seed_order.new_tokens_delivered == 250


def test_plain_post_redirects_and_the_page_shows_the_message(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    data = post_data(acme_client, seed_order, quantity="250")
    response = acme_client.post(url(seed_order), data)
    assert response.status_code == 302
    assert response["Location"] == url(seed_order)
    page = acme_client.get(response["Location"])
    text = page_text(page)
    assert "Delivery N001 taken: 250 new tokens for" in text
    assert "Available new tokens: 350" in text
    assert form_key(page) != data["idempotency_key"]
    assert page.context["form"]["quantity"].value() in (None, "")
    # The message is shown once, not on every later visit.
    assert "Delivery N001 taken" not in page_text(acme_client.get(url(seed_order)))


def test_quantity_with_spaces_is_trimmed_and_taken(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    data = post_data(acme_client, seed_order, quantity=" 7 ")
    assert acme_client.post(url(seed_order), data).status_code == 302
    seed_order.refresh_from_db()
    assert seed_order.new_tokens_delivered == 7


def test_a_resubmitted_form_makes_one_delivery(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    data = post_data(acme_client, seed_order, quantity="100")
    responses = [acme_client.post(url(seed_order), data) for _ in range(5)]
    assert [r.status_code for r in responses] == [302] * 5
    replay = acme_client.post(url(seed_order), data, headers=HTMX)
    assert "This form was already submitted: delivery N001 of 100 new tokens" in page_text(replay)
    assert "Available new tokens: 500" in page_text(replay)
    assert NewDelivery.objects.filter(order=seed_order).count() == 1
    seed_order.refresh_from_db()
    assert seed_order.new_tokens_delivered == 100


def test_the_same_key_with_another_quantity_is_refused_with_a_fresh_key(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    data = post_data(acme_client, seed_order, quantity="100")
    acme_client.post(url(seed_order), data)
    before = state(seed_order)
    response = acme_client.post(url(seed_order), {**data, "quantity": "101"}, headers=HTMX)
    assert response.status_code == 200
    assert "This form was already submitted with a different product or quantity" in page_text(
        response
    )
    assert state(seed_order) == before
    fresh = form_key(response)
    assert fresh != data["idempotency_key"]
    again = acme_client.post(url(seed_order), {**data, "quantity": "101", "idempotency_key": fresh})
    assert again.status_code == 302
    assert NewDelivery.objects.filter(order=seed_order).count() == 2


# --- R5: nothing available, or the order is not eligible -----------------------------------


def test_when_everything_is_taken_the_page_prompts_and_has_no_form_r5(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    take(seed_order, acme_user, 600)
    response = acme_client.get(url(seed_order))
    html = response.content.decode()
    text = page_text(response)
    assert "No new token can be applied for on this order." in text
    assert "Take delivery</button>" not in html
    assert 'name="quantity"' not in html
    assert "Available new tokens: 0" in text
    assert f"Available: 600 {MINUS} 600 = 0." in text
    assert "None is available because as many new tokens have been delivered" in text
    assert "Still undelivered: 400 of the 1,000 ordered." in text
    assert "New delivery list of Token" in text


@pytest.mark.parametrize(
    ("delivered", "status", "reason"),
    [
        (0, PurchaseOrder.Status.AWAITING_DELIVERY, "Nothing of it has been delivered yet"),
        (0, PurchaseOrder.Status.CANCELLED, "The order is cancelled."),
        (300, PurchaseOrder.Status.CANCELLED, "The order is cancelled."),
    ],
)
def test_an_order_that_is_not_eligible_gets_the_prompt_and_no_form_r1(
    acme_client: Client, acme: Manufacturer, delivered: int, status: str, reason: str
) -> None:
    order = delivered_license_order(acme, delivered=delivered)
    PurchaseOrder.objects.filter(pk=order.pk).update(status=status)
    response = acme_client.get(url(order))
    assert response.status_code == 200
    text = page_text(response)
    assert "No new token can be applied for on this order." in text
    assert reason in text
    assert 'name="quantity"' not in response.content.decode()


def test_an_order_none_of_whose_products_is_yours_gets_the_prompt(
    acme_client: Client, acme: Manufacturer, globex: Manufacturer
) -> None:
    order = delivered_license_order(acme, delivered=100)
    # Another manufacturer's product cannot be put on it any more (PostgreSQL refuses it at
    # commit); an order left without products of its own is the case that remains.
    order.products.set([])
    response = acme_client.get(url(order))
    text = page_text(response)
    assert "No new token can be applied for on this order." in text
    assert "None of your products is one that this order's new tokens apply to." in text
    assert 'name="quantity"' not in response.content.decode()


def test_a_post_to_an_order_that_is_not_eligible_is_refused_and_audited(
    acme_client: Client, acme: Manufacturer
) -> None:
    order = delivered_license_order(acme, delivered=0)
    data = {
        "product": str(first_product(order).pk),
        "quantity": "5",
        "idempotency_key": str(uuid.uuid4()),
    }
    response = acme_client.post(url(order), data)
    assert response.status_code == 200
    assert "it has no delivered modules or tokens" in page_text(response)
    assert state(order) == (0, 0, 0, 0)
    assert AuditEvent.objects.filter(action="delivery.refused").count() == 1


def test_someone_else_taking_the_last_tokens_first_gives_the_prompt(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    data = post_data(acme_client, seed_order, quantity="10")
    take(seed_order, acme_user, 600)  # a colleague, between rendering and submitting
    response = acme_client.post(url(seed_order), data, headers=HTMX)
    text = page_text(response)
    assert "all delivered tokens are used" in text
    assert "No new token can be applied for on this order." in text
    assert NewDelivery.objects.filter(order=seed_order).count() == 1


# --- Bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "Enter a number of at least 1."),
        ("-5", "Enter a number of at least 1, without a sign."),
        ("1.5", "Enter a whole number: tokens are not taken in parts."),
        ("abc", "Enter a whole number, for example 250."),
        ("", "Enter how many new tokens to take."),
        ("1" * 30, "That number is far too large: 600 new tokens are available on this order."),
        ("\uff15", "Type the number with the digits 0 to 9 (not full-width or other digits)."),
    ],
)
def test_bad_quantities_get_a_message_and_change_nothing(
    acme_client: Client, seed_order: PurchaseOrder, quantity: str, message: str, htmx: bool
) -> None:
    data = post_data(acme_client, seed_order, quantity=quantity)
    before = state(seed_order)
    response = acme_client.post(url(seed_order), data, headers=HTMX if htmx else {})
    assert response.status_code == 200
    html = response.content.decode()
    assert message in page_text(response)
    assert '<p class="field__error" id="id_quantity_error">' in html
    assert 'aria-invalid="true"' in html
    assert "No delivery was taken:" in page_text(response)
    assert state(seed_order) == before
    assert not AuditEvent.objects.filter(action__startswith="delivery.").exists()
    # The same key is kept: nothing was taken with it.
    assert form_key(response) == data["idempotency_key"]


def test_more_than_available_is_refused_with_the_count_and_audited(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    data = post_data(acme_client, seed_order, quantity="601")
    before = state(seed_order)
    response = acme_client.post(url(seed_order), data)
    assert response.status_code == 200
    assert (
        "Only 600 new tokens are available on this order; enter a number from 1 to 600."
        in page_text(response)
    )
    assert state(seed_order) == before
    assert AuditEvent.objects.get(action="delivery.refused").details["quantity"] == 601


@pytest.mark.parametrize("which", ["same category", "other manufacturer", "no such product"])
def test_a_product_that_is_not_eligible_is_refused_and_audited(
    acme_client: Client,
    seed_order: PurchaseOrder,
    acme: Manufacturer,
    globex: Manufacturer,
    which: str,
) -> None:
    product_id = {
        "same category": lambda: (
            ProductFactory(manufacturer=acme, category=first_product(seed_order).category).pk
        ),
        "other manufacturer": lambda: ProductFactory(manufacturer=globex).pk,
        "no such product": lambda: 987654321,
    }[which]()
    data = post_data(acme_client, seed_order, quantity="5", product=str(product_id))
    before = state(seed_order)
    response = acme_client.post(url(seed_order), data)
    assert response.status_code == 200
    assert "Choose a product that the new tokens of this order apply to." in page_text(response)
    assert 'id="id_product_error"' in response.content.decode()
    assert state(seed_order) == before
    refused = AuditEvent.objects.get(action="delivery.refused")
    assert refused.details["reason"] == "product_not_eligible"


@pytest.mark.parametrize(
    ("product", "message"), [("", "Choose a product."), ("x", "Choose a product from the list.")]
)
def test_a_missing_or_garbled_product_gets_a_message(
    acme_client: Client, seed_order: PurchaseOrder, product: str, message: str
) -> None:
    data = post_data(acme_client, seed_order, quantity="5", product=product)
    before = state(seed_order)
    response = acme_client.post(url(seed_order), data)
    assert message in page_text(response)
    assert state(seed_order) == before


def test_a_missing_product_and_too_many_tokens_are_both_said_at_once(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    data = post_data(acme_client, seed_order, quantity="601", product="")
    before = state(seed_order)
    response = acme_client.post(url(seed_order), data)
    text = page_text(response)
    assert "Choose a product." in text
    assert "Only 600 new tokens are available on this order" in text
    assert state(seed_order) == before


@pytest.mark.parametrize("key", [None, "", "forged"])
def test_a_missing_or_broken_key_takes_nothing_and_offers_a_fresh_key(
    acme_client: Client, seed_order: PurchaseOrder, key: str | None
) -> None:
    data = post_data(acme_client, seed_order, quantity="5")
    if key is None:
        del data["idempotency_key"]
    else:
        data["idempotency_key"] = key
    before = state(seed_order)
    response = acme_client.post(url(seed_order), data)
    assert "This form is out of date. Submit it again." in page_text(response)
    assert state(seed_order) == before
    fresh = uuid.UUID(form_key(response))  # raises on anything but a UUID
    assert fresh.version == 4
    assert f'name="idempotency_key" value="{fresh}"' in response.content.decode()


# --- Tenancy, CSRF, methods ----------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_manufacturers_order_is_404_and_unchanged(
    globex_client: Client, seed_order: PurchaseOrder, method: str
) -> None:
    data = {
        "product": str(first_product(seed_order).pk),
        "quantity": "5",
        "idempotency_key": str(uuid.uuid4()),
    }
    before = state(seed_order)
    response = getattr(globex_client, method)(url(seed_order), data if method == "post" else None)
    assert response.status_code == 404
    assert state(seed_order) == before
    assert not AuditEvent.objects.filter(action__startswith="delivery.").exists()


def test_an_unknown_order_is_404(acme_client: Client) -> None:
    response = acme_client.get(reverse("deliveries:initiate", args=["NO-SUCH-ORDER"]))
    assert response.status_code == 404


def test_logged_out_visitors_are_sent_to_log_in(client: Client, seed_order: PurchaseOrder) -> None:
    response = client.post(url(seed_order), {"quantity": "5"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert state(seed_order) == (0, 0, 0, 0)


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_missing_or_forged_csrf_token_is_403_and_changes_nothing(
    acme_user: User, seed_order: PurchaseOrder, token: str | None
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(acme_user)
    page = client.get(url(seed_order))
    assert page.status_code == 200
    data = {
        "product": str(first_product(seed_order).pk),
        "quantity": "5",
        "idempotency_key": form_key(page),
    }
    if token is not None:
        data["csrfmiddlewaretoken"] = "x" * 64
    before = state(seed_order)
    response = client.post(url(seed_order), data)
    assert response.status_code == 403
    assert state(seed_order) == before
    # The header HTMX sends is checked the same way.
    response = client.post(url(seed_order), data, headers={**HTMX, "X-CSRFToken": "y" * 64})
    assert response.status_code == 403
    assert state(seed_order) == before


def test_with_the_real_csrf_token_the_same_client_can_take(
    acme_user: User, seed_order: PurchaseOrder
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(acme_user)
    page = client.get(url(seed_order))
    token = page.context["csrf_token"]
    data = {
        "product": str(first_product(seed_order).pk),
        "quantity": "5",
        "idempotency_key": form_key(page),
    }
    response = client.post(url(seed_order), data, headers={**HTMX, "X-CSRFToken": str(token)})
    assert response.status_code == 200
    assert "Delivery N001 taken" in page_text(response)


@pytest.mark.parametrize(
    "query",
    [
        {"quantity": "5"},
        {"product": "1", "quantity": "5", "idempotency_key": str(uuid.uuid4())},
        {"idempotency_key": str(uuid.uuid4())},
    ],
)
def test_a_get_that_tries_to_take_delivery_is_405(
    acme_client: Client, seed_order: PurchaseOrder, query: dict[str, str]
) -> None:
    before = state(seed_order)
    response = acme_client.get(url(seed_order), query)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert state(seed_order) == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_405(acme_client: Client, seed_order: PurchaseOrder, method: str) -> None:
    response = getattr(acme_client, method)(url(seed_order))
    assert response.status_code == 405
    assert state(seed_order) == (0, 0, 0, 0)


# --- The Purchase Order page's actions (R1) ------------------------------------------------


def test_purchase_order_page_offers_the_actions_that_apply(
    acme_client: Client, seed_order: PurchaseOrder, acme: Manufacturer, acme_user: User
) -> None:
    undelivered = delivered_license_order(acme, delivered=0, number="LIC-NOTHING")
    html = acme_client.get(reverse("orders:purchase_order_list")).content.decode()
    assert f'href="{url(seed_order)}"' in html
    assert f'href="{url(undelivered)}"' not in html
    list_url = reverse("deliveries:order_delivery_list", args=[seed_order.number])
    assert f'href="{list_url}"' not in html
    take(seed_order, acme_user, 5)
    html = acme_client.get(reverse("orders:purchase_order_list")).content.decode()
    assert f'href="{list_url}"' in html


# --- The seed's worked example --------------------------------------------------------------


def test_the_seeds_worked_example_end_to_end(
    acme_client: Client, staff_client: Client, seed_order: PurchaseOrder
) -> None:
    """1000 ordered, 600 delivered, 600 available; take 250, then 350; 0 available and the
    prompt; staff records the other 400; 400 available."""
    page = acme_client.get(url(seed_order))
    assert "Available new tokens: 600" in page_text(page)

    product = str(first_product(seed_order).pk)
    first = {"product": product, "quantity": "250", "idempotency_key": form_key(page)}
    response = acme_client.post(url(seed_order), first)
    assert response.status_code == 302
    page = acme_client.get(response["Location"])
    assert "Delivery N001 taken: 250 new tokens" in page_text(page)
    assert "Available new tokens: 350" in page_text(page)

    second = {"product": product, "quantity": "350", "idempotency_key": form_key(page)}
    response = acme_client.post(url(seed_order), second, headers=HTMX)
    text = page_text(response)
    assert "Delivery N002 taken: 350 new tokens" in text
    assert "Available new tokens: 0" in text
    assert "No new token can be applied for on this order." in text
    assert 'name="quantity"' not in response.content.decode()

    page = acme_client.get(url(seed_order))
    assert "No new token can be applied for on this order." in page_text(page)
    assert "Still undelivered: 400 of the 1,000 ordered." in page_text(page)

    record = reverse("admin:orders_purchaseorder_record_delivery", args=[seed_order.pk])
    record_key = staff_client.get(record).context["form"]["record_key"].value()
    assert (
        staff_client.post(record, {"quantity": "400", "record_key": record_key}).status_code == 302
    )

    page = acme_client.get(url(seed_order))
    text = page_text(page)
    assert "Available new tokens: 400" in text
    assert "Delivered 1,000 tokens in 2 original deliveries." in text
    assert "New tokens delivered: 600 in 2 new deliveries." in text
    assert f"Available: 1,000 {MINUS} 600 = 400." in text
    assert "The order is fully delivered" not in text  # only said when nothing is available
    assert 'name="quantity"' in page.content.decode()
    seed_order.refresh_from_db()
    assert (seed_order.quantity_delivered, seed_order.new_tokens_delivered) == (1000, 600)
    assert AuditEvent.objects.filter(action="delivery.taken").count() == 2
