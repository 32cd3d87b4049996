"""The New delivery list of Token and the download, through the views."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.storage import storages
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from deliveries.models import NewDelivery
from orders.models import PurchaseOrder
from refurb_portal.writers import NEW_DELIVERY, service_writes
from tests.conftest import delivered_license_order
from tests.tokens.conftest import file_bytes, ready, take
from tokens.models import TokenDownload, TokenFile

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def download_url(delivery: NewDelivery) -> str:
    return reverse("tokens:download", args=[delivery.pk])


def order_list_url(order: PurchaseOrder) -> str:
    return reverse("deliveries:order_delivery_list", args=[order.number])


def test_the_list_shows_every_column_of_a_ready_delivery(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 250)
    token_file = ready(delivery)
    html = acme_client.get(order_list_url(seed_order)).content.decode()
    for text in (
        "New delivery list of Token",
        "N001",
        delivery.product.name,
        delivery.product.product_id,
        "250",
        "acme",
        "Ready",
        token_file.sha256,
        download_url(delivery),
    ):
        assert text in html, text
    assert "<progress" not in html
    assert 'hx-trigger="every 2s"' not in html  # nothing to poll for


def test_a_pending_file_shows_progress_and_the_list_polls_until_it_is_ready(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 100)
    TokenFile.objects.filter(delivery=delivery).update(status=TokenFile.Status.GENERATING, done=40)
    url = order_list_url(seed_order)
    page = acme_client.get(url).content.decode()
    assert '<progress value="40" max="100"' in page
    assert 'hx-trigger="every 2s"' in page
    assert f'hx-get="{url}"' in page
    assert "Not ready" in page
    assert download_url(delivery) not in page
    assert "Refresh" in page  # without JavaScript, a link does what the polling does

    polled = acme_client.get(url, **HTMX)
    assert polled.status_code == 200
    assert "HX-Request" in polled["Vary"]
    fragment = polled.content.decode()
    assert fragment.lstrip().startswith('<section id="results"')
    assert "<html" not in fragment
    assert 'hx-trigger="every 2s"' in fragment

    TokenFile.objects.filter(delivery=delivery).update(status=TokenFile.Status.PENDING, done=0)
    ready(delivery)
    last = acme_client.get(url, **HTMX).content.decode()
    assert "hx-trigger" not in last  # the swapped-in results carry no trigger: polling stops
    assert download_url(delivery) in last


def test_a_failed_file_says_so_without_the_reason(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 10)
    TokenFile.objects.filter(delivery=delivery).update(
        status=TokenFile.Status.FAILED, error="OSError: secret internals"
    )
    html = acme_client.get(order_list_url(seed_order)).content.decode()
    assert "Failed" in html
    assert "secret internals" not in html
    assert 'hx-trigger="every 2s"' not in html


def test_the_all_orders_list_is_newest_first_and_paginated_by_25(
    acme_client: Client, acme: Manufacturer, acme_user: User
) -> None:
    first = delivered_license_order(acme, number="LIC-A", delivered=100)
    second = delivered_license_order(acme, number="LIC-B", delivered=100)
    start = timezone.now() - dt.timedelta(days=1)
    for i in range(30):
        delivery = take(first if i % 2 else second, acme_user, 1)
        # Back-dated as the delivery service (PostgreSQL refuses anyone else).
        with transaction.atomic(), service_writes(NEW_DELIVERY):
            NewDelivery.objects.filter(pk=delivery.pk).update(
                taken_at=start + dt.timedelta(minutes=i)
            )
    url = reverse("deliveries:delivery_list")
    response = acme_client.get(url)
    page = response.context["page"]
    assert page.paginator.count == 30
    assert len(page.object_list) == 25
    times = [d.taken_at for d in page.object_list]
    assert times == sorted(times, reverse=True)
    html = response.content.decode()
    assert "LIC-A" in html
    assert "LIC-B" in html
    assert "Page 1 of 2" in html
    assert len(acme_client.get(url, {"page": 2}).context["page"].object_list) == 5


def test_the_list_costs_the_same_queries_for_1_or_25_deliveries(
    acme_client: Client, acme: Manufacturer, acme_user: User
) -> None:
    order = delivered_license_order(acme, delivered=100)
    take(order, acme_user, 1)
    url = reverse("deliveries:delivery_list")
    with CaptureQueriesContext(connection) as one:
        acme_client.get(url)
    for _ in range(24):
        take(order, acme_user, 1)
    with CaptureQueriesContext(connection) as many:
        acme_client.get(url)
    assert len(many) == len(one)


def test_empty_states(acme_client: Client, seed_order: PurchaseOrder) -> None:
    html = acme_client.get(reverse("deliveries:delivery_list")).content.decode()
    assert "No new deliveries of Token yet." in html
    html = acme_client.get(order_list_url(seed_order)).content.decode()
    assert "No new deliveries of Token yet." in html
    assert reverse("deliveries:initiate", args=[seed_order.number]) in html


def test_another_manufacturer_sees_none_of_it(
    globex_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 10)
    ready(delivery)
    assert globex_client.get(order_list_url(seed_order)).status_code == 404
    response = globex_client.get(reverse("deliveries:delivery_list"))
    assert response.context["page"].paginator.count == 0
    assert globex_client.get(download_url(delivery)).status_code == 404
    assert not TokenDownload.objects.exists()


def test_download_streams_the_file_as_an_attachment_and_records_it(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 300)
    token_file = ready(delivery)
    response = acme_client.get(download_url(delivery), REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    assert response.streaming  # FileResponse: read and sent in chunks, never whole
    assert response["Content-Disposition"] == 'attachment; filename="LIC-2026-0001-N001-tokens.csv"'
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    assert int(response["Content-Length"]) == token_file.size_bytes
    assert b"".join(response.streaming_content) == file_bytes(token_file)  # type: ignore[arg-type]
    download = TokenDownload.objects.get()
    assert (download.token_file, download.user, download.ip_address, download.channel) == (
        token_file,
        acme_user,
        "203.0.113.9",
        TokenDownload.Channel.PORTAL,
    )
    event = AuditEvent.objects.get(action="tokens.downloaded")
    assert (event.actor, event.manufacturer, event.ip_address) == (
        acme_user,
        seed_order.manufacturer,
        "203.0.113.9",
    )
    assert event.details["sha256"] == token_file.sha256


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (TokenFile.Status.PENDING, "This token file is not ready yet."),
        (TokenFile.Status.GENERATING, "This token file is not ready yet."),
        (TokenFile.Status.FAILED, "This token file could not be made."),
    ],
)
def test_a_file_that_is_not_ready_gets_a_clear_message_not_a_broken_file(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User, status: str, message: str
) -> None:
    delivery = take(seed_order, acme_user, 10)
    TokenFile.objects.filter(delivery=delivery).update(status=status)
    response = acme_client.get(download_url(delivery))
    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/html")
    assert "Content-Disposition" not in response
    assert message in response.content.decode()
    assert not TokenDownload.objects.exists()


def test_a_ready_file_missing_from_storage_is_explained(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 10)
    storages["private"].delete(ready(delivery).storage_name)
    response = acme_client.get(download_url(delivery))
    assert response.status_code == 503
    assert "cannot be read from storage" in response.content.decode()
    assert not TokenDownload.objects.exists()


def test_download_and_lists_need_a_login(
    client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 10)
    for url in (
        download_url(delivery),
        order_list_url(seed_order),
        reverse("deliveries:delivery_list"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_the_download_refuses_post(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 10)
    ready(delivery)
    assert acme_client.post(download_url(delivery)).status_code == 405


def test_the_first_download_tells_how_to_get_the_refurbishment_tool(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 10)
    ready(delivery)
    notice = "Request the refurbishment tool"
    orders_page = reverse("orders:purchase_order_list")
    listing = acme_client.get(order_list_url(seed_order)).content.decode()
    assert notice in listing  # R12 on the list while there is no tool request
    assert notice not in acme_client.get(orders_page).content.decode()
    assert acme_client.get(download_url(delivery)).status_code == 200
    # From the first download on, the Purchase Order page says it too, without a flash message.
    after_first = acme_client.get(orders_page)
    assert notice in after_first.content.decode()
    assert not [str(m) for m in after_first.context["messages"]]
