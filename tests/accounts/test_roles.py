"""Roles (issue #18): what a viewer, a planner and an administrator may do, enforced in the
services every entry point calls (``accounts.access.role_require``), shown on the pages, and
followed by API keys (which act as the user who made them)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.access import ROLE_ACTIONS, role_allows, role_refusal
from accounts.models import Manufacturer, User
from api.services import api_key_create
from deliveries.errors import DeliveryError
from deliveries.models import NewDelivery
from deliveries.services import new_delivery_void
from tests.conftest import delivered_license_order
from tests.deliveries.conftest import page_text, take
from tests.factories import StaffUserFactory, UserFactory
from tests.tokens.conftest import ready
from tokens.errors import TokenFileError
from tokens.models import TokenDownload
from tokens.services import order_token_files_download_record, token_file_download_record
from workorders.errors import WorkOrderError
from workorders.models import WorkOrder
from workorders.services import work_order_submit

VIEWER, PLANNER, ADMINISTRATOR = User.Role.VIEWER, User.Role.PLANNER, User.Role.ADMINISTRATOR


@pytest.fixture(autouse=True)
def _private_files(settings: Any, tmp_path: Path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path, "base_url": None},
        },
    }


def member(acme: Manufacturer, role: str) -> User:
    return UserFactory(username=f"acme-{role}", manufacturer=acme, role=role)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (VIEWER, set()),
        (
            PLANNER,
            {
                "delivery.take",
                "delivery.void",
                "tokens.download",
                "workorders.submit",
                "workorders.reply",
            },
        ),
        (ADMINISTRATOR, set(ROLE_ACTIONS)),
    ],
)
@pytest.mark.django_db
def test_each_role_may_do_exactly_its_actions(
    acme: Manufacturer, role: str, allowed: set[str]
) -> None:
    user = member(acme, role)
    assert {action for action in ROLE_ACTIONS if role_allows(user=user, action=action)} == allowed
    for action in ROLE_ACTIONS:
        assert bool(role_refusal(user=user, action=action)) == (action not in allowed)


@pytest.mark.django_db
def test_staff_and_deactivated_users() -> None:
    staff = StaffUserFactory(username="staff-roles")
    assert all(role_allows(user=staff, action=action) for action in ROLE_ACTIONS)
    gone = UserFactory(username="gone", role=ADMINISTRATOR, is_active=False)
    assert not any(role_allows(user=gone, action=action) for action in ROLE_ACTIONS)


@pytest.mark.django_db
def test_a_viewer_cannot_take_and_nothing_is_written(acme: Manufacturer) -> None:
    order = delivered_license_order(acme)
    with pytest.raises(DeliveryError) as refused:
        take(order, member(acme, VIEWER), 5)
    assert refused.value.code == "role_forbidden"
    assert refused.value.status == 403
    assert "Viewer" in refused.value.message
    order.refresh_from_db()
    assert (order.new_tokens_delivered, NewDelivery.objects.count()) == (0, 0)
    assert take(order, member(acme, PLANNER), 5).created


@pytest.mark.django_db
def test_a_viewer_cannot_void(acme: Manufacturer) -> None:
    order = delivered_license_order(acme)
    delivery = take(order, member(acme, PLANNER), 5).delivery
    with pytest.raises(DeliveryError) as refused:
        new_delivery_void(delivery_id=delivery.pk, user=member(acme, VIEWER), reason="mistake")
    assert refused.value.code == "role_forbidden"
    delivery.refresh_from_db()
    assert not delivery.is_voided
    new_delivery_void(delivery_id=delivery.pk, user=member(acme, ADMINISTRATOR), reason="oops")


@pytest.mark.django_db
def test_a_viewer_cannot_download_one_file_or_an_orders_zip(acme: Manufacturer) -> None:
    order = delivered_license_order(acme)
    token_file = ready(take(order, member(acme, PLANNER), 5).delivery)
    viewer = member(acme, VIEWER)
    with pytest.raises(TokenFileError) as refused:
        token_file_download_record(token_file=token_file, user=viewer)
    assert refused.value.code == "role_forbidden"
    with pytest.raises(TokenFileError):
        order_token_files_download_record(
            files=[(token_file, ["a.csv"])],
            user=viewer,
            request=None,
            file_format="csv",
            archive="a.zip",
        )
    assert not TokenDownload.objects.exists()
    token_file_download_record(token_file=token_file, user=member(acme, PLANNER))
    assert TokenDownload.objects.count() == 1


@pytest.mark.django_db
def test_a_viewer_cannot_submit_a_work_order(acme: Manufacturer) -> None:
    def submit(user: User) -> object:
        return work_order_submit(
            user=user,
            work_order_type=WorkOrder.Type.OTHER,
            order=None,
            description="Help",
            contact="Jane",
            attachments=[SimpleUploadedFile("a.pdf", b"%PDF-1.7\n%%EOF\n")][:0],
            submission_key=uuid.uuid4(),
        )

    with pytest.raises(WorkOrderError) as refused:
        submit(member(acme, VIEWER))
    assert refused.value.code == "role_forbidden"
    assert not WorkOrder.objects.exists()
    submit(member(acme, PLANNER))
    assert WorkOrder.objects.count() == 1


@pytest.mark.django_db
def test_an_api_key_follows_its_makers_role_at_each_request(
    acme: Manufacturer, client: Client
) -> None:
    maker = member(acme, ADMINISTRATOR)
    order = delivered_license_order(acme)
    plaintext = api_key_create(user=maker, name="Line 1", scopes=["read", "take"]).plaintext
    url = f"/api/v1/orders/{order.number}/deliveries"
    product = order.products.order_by("pk").first()
    assert product is not None

    def take_by_api() -> Any:
        return client.post(
            url,
            {"product_id": product.product_id, "quantity": 1},
            content_type="application/json",
            headers={"Authorization": f"Bearer {plaintext}", "Idempotency-Key": str(uuid.uuid4())},
        )

    assert take_by_api().status_code == 201
    maker.role = VIEWER
    maker.save(update_fields=["role"])
    refused = take_by_api()
    assert refused.status_code == 403, refused.content
    assert NewDelivery.objects.count() == 1


@pytest.mark.django_db
def test_pages_show_a_viewer_why_instead_of_the_buttons(acme: Manufacturer) -> None:
    from tokens.generation import token_file_generate
    from tokens.models import TokenFile

    order = delivered_license_order(acme)
    for original in TokenFile.objects.filter(original_delivery__order=order):
        token_file_generate(token_file_id=original.pk)  # its License List is ready
    ready(take(order, member(acme, PLANNER), 5).delivery)
    client = Client()
    client.force_login(member(acme, VIEWER))
    initiate = client.get(reverse("deliveries:initiate", args=[order.number])).content.decode()
    assert 'id="take-refused-by-role"' in initiate
    assert "take-form" not in initiate
    assert 'id="targeted"' not in initiate  # no list of old UUIDs to check either
    assert "original-deliveries/" not in initiate  # the original License List is not offered
    detail = client.get(reverse("orders:order_detail", args=[order.number])).content.decode()
    assert 'id="order-refused-by-role"' in detail
    assert reverse("deliveries:initiate", args=[order.number]) + '"' not in detail
    assert reverse("workorders:submit") not in detail
    initiate_link = reverse("deliveries:initiate", args=[order.number]) + '"'
    orders = client.get(reverse("orders:purchase_order_list")).content.decode()
    assert order.number in orders
    assert initiate_link not in orders  # no row offers it either
    empty = delivered_license_order(acme)  # no new delivery yet: the empty list's text
    empty_list = client.get(
        reverse("deliveries:order_delivery_list", args=[empty.number])
    ).content.decode()
    assert 'id="take-refused-by-role"' in empty_list
    assert reverse("deliveries:initiate", args=[empty.number]) not in empty_list
    listing = client.get(
        reverse("deliveries:order_delivery_list", args=[order.number])
    ).content.decode()
    assert "/download/" not in listing
    assert "void__form" not in listing
    work_orders = client.get(reverse("workorders:list")).content.decode()
    assert 'id="submit-refused-by-role"' in work_orders
    assert reverse("workorders:submit") not in work_orders  # not in the empty list's text either
    submit = client.get(reverse("workorders:submit")).content.decode()
    assert 'id="submit-refused-by-role"' in submit
    assert 'name="description"' not in submit  # no form to fill in before the refusal
    # The same pages for a planner keep their buttons.
    client.force_login(member(acme, PLANNER))
    initiate = client.get(reverse("deliveries:initiate", args=[order.number])).content.decode()
    assert "take-form" in initiate
    assert "original-deliveries/" in initiate
    assert 'id="targeted"' in initiate
    assert initiate_link in client.get(reverse("orders:purchase_order_list")).content.decode()
    listing = client.get(
        reverse("deliveries:order_delivery_list", args=[order.number])
    ).content.decode()
    assert "void__form" in listing


@pytest.mark.django_db
def test_a_viewer_posting_the_take_form_is_refused_with_the_reason(acme: Manufacturer) -> None:
    order = delivered_license_order(acme)
    client = Client()
    client.force_login(member(acme, VIEWER))
    product = order.products.order_by("pk").first()
    assert product is not None
    response = client.post(
        reverse("deliveries:initiate", args=[order.number]),
        {"product": product.pk, "quantity": 1, "idempotency_key": str(uuid.uuid4())},
    )
    assert "Your role is Viewer, which may not take new deliveries" in page_text(response)
    assert NewDelivery.objects.count() == 0
