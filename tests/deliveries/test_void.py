"""Voiding a new delivery (rule R14): the service, the portal's list and the staff admin."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from functools import partial

import pytest
from django.conf import LazySettings
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from deliveries.errors import DeliveryError
from deliveries.models import NewDelivery
from deliveries.services import new_delivery_void
from orders.models import PurchaseOrder
from refurb_portal.invariants import invariant_violations
from refurb_portal.writers import NEW_DELIVERY, service_writes
from tests.conftest import delivered_license_order
from tests.deliveries.conftest import page_text
from tests.threads import barrier, run_in_threads
from tests.tokens.conftest import _remove_token_files, file_of, take
from tokens.generation import token_file_generate
from tokens.models import Token, TokenDownload, TokenFile
from tokens.services import order_token_files_download_record, token_file_download_record

__all__ = ["_remove_token_files"]


def made(order: PurchaseOrder, user: User, quantity: int) -> NewDelivery:
    """A delivery taken through the service, with its tokens and file made."""
    delivery = take(order, user, quantity)
    token_file_generate(token_file_id=file_of(delivery).pk)
    return delivery


def available(order: PurchaseOrder) -> int:
    order.refresh_from_db()
    return order.available_new_tokens


@pytest.fixture
def order(acme: Manufacturer) -> PurchaseOrder:
    return delivered_license_order(acme, ordered=1000, delivered=600, number="LIC-VOID-1")


# --- The service --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_void_revokes_the_tokens_returns_the_quantity_and_is_audited(
    order: PurchaseOrder, acme_user: User, staff_user: User
) -> None:
    delivery = made(order, acme_user, 600)
    assert available(order) == 0
    new_delivery_void(delivery_id=delivery.pk, user=staff_user, reason="600 typed for 60")
    assert available(order) == 600
    delivery.refresh_from_db()
    assert (delivery.is_voided, delivery.void_reason, delivery.voided_by) == (
        True,
        "600 typed for 60",
        staff_user,
    )
    assert set(Token.objects.filter(delivery=delivery).values_list("status", flat=True)) == {
        Token.Status.REVOKED
    }
    assert file_of(delivery).status == TokenFile.Status.VOIDED
    event = AuditEvent.objects.get(action="delivery.voided")
    assert (event.manufacturer, event.actor, event.details["reason"]) == (
        order.manufacturer,
        staff_user,
        "600 typed for 60",
    )
    assert (event.details["available_before"], event.details["available_after"]) == (0, 600)
    assert invariant_violations() == []


@pytest.mark.django_db
def test_a_voided_quantity_can_be_taken_again_with_new_tokens(
    order: PurchaseOrder, acme_user: User
) -> None:
    voided = made(order, acme_user, 600)
    old = set(Token.objects.filter(delivery=voided).values_list("uuid", flat=True))
    new_delivery_void(delivery_id=voided.pk, user=acme_user, reason="wrong product")
    again = made(order, acme_user, 600)
    fresh = set(Token.objects.filter(delivery=again).values_list("uuid", flat=True))
    assert len(fresh) == 600
    assert not old & fresh  # revoked tokens stay in the table: never issued again
    assert available(order) == 0
    assert invariant_violations() == []


@pytest.mark.django_db
def test_a_pending_file_is_never_made_once_voided(order: PurchaseOrder, acme_user: User) -> None:
    delivery = take(order, acme_user, 10)
    new_delivery_void(delivery_id=delivery.pk, user=acme_user, reason="mistake")
    token_file_generate(token_file_id=file_of(delivery).pk)
    assert file_of(delivery).status == TokenFile.Status.VOIDED
    assert not Token.objects.filter(delivery=delivery).exists()


@pytest.mark.django_db
def test_a_downloaded_delivery_cannot_be_voided(
    order: PurchaseOrder, acme_user: User, staff_user: User
) -> None:
    delivery = made(order, acme_user, 10)
    token_file_download_record(token_file=file_of(delivery), user=acme_user)
    with pytest.raises(DeliveryError) as info:
        new_delivery_void(delivery_id=delivery.pk, user=staff_user, reason="too late")
    assert info.value.code == "void_downloaded"
    assert available(order) == 590
    assert file_of(delivery).status == TokenFile.Status.READY


@pytest.mark.django_db
def test_the_manufacturer_may_void_only_within_the_window_and_staff_always(
    order: PurchaseOrder, acme_user: User, staff_user: User, settings: LazySettings
) -> None:
    settings.NEW_DELIVERY_VOID_HOURS = 24
    delivery = made(order, acme_user, 10)
    with transaction.atomic(), service_writes(NEW_DELIVERY):
        NewDelivery.objects.filter(pk=delivery.pk).update(
            taken_at=delivery.taken_at - dt.timedelta(hours=25)
        )
    with pytest.raises(DeliveryError) as info:
        new_delivery_void(delivery_id=delivery.pk, user=acme_user, reason="oops")
    assert (info.value.code, info.value.params) == ("void_window_passed", {"hours": 24})
    new_delivery_void(delivery_id=delivery.pk, user=staff_user, reason="asked by Acme")
    assert available(order) == 600


@pytest.mark.django_db
def test_a_second_void_is_refused_and_changes_nothing(
    order: PurchaseOrder, acme_user: User
) -> None:
    delivery = made(order, acme_user, 10)
    new_delivery_void(delivery_id=delivery.pk, user=acme_user, reason="first")
    with pytest.raises(DeliveryError) as info:
        new_delivery_void(delivery_id=delivery.pk, user=acme_user, reason="second")
    assert info.value.code == "already_voided"
    assert available(order) == 600
    delivery.refresh_from_db()
    assert delivery.void_reason == "first"
    assert AuditEvent.objects.filter(action="delivery.voided").count() == 1


@pytest.mark.django_db
def test_a_void_needs_a_reason(order: PurchaseOrder, acme_user: User) -> None:
    delivery = made(order, acme_user, 10)
    with pytest.raises(DeliveryError) as info:
        new_delivery_void(delivery_id=delivery.pk, user=acme_user, reason="   ")
    assert info.value.code == "void_reason_missing"
    assert available(order) == 590


def _race(targets: list[Callable[[], object]]) -> list[object]:
    """Run the callables at once (one barrier), each on its own connection; their results."""
    start = barrier(len(targets))
    results: list[object] = []

    def run(target: Callable[[], object]) -> None:
        try:
            start.wait()
            results.append(target())
        except BaseException as exc:
            results.append(exc)
        finally:
            connection.close()

    run_in_threads([partial(run, target) for target in targets])
    return results


@pytest.mark.django_db(transaction=True)
def test_two_voids_at_once_void_once(acme: Manufacturer, acme_user: User) -> None:
    order = delivered_license_order(acme, delivered=600)
    delivery = made(order, acme_user, 10)
    results = _race(
        [
            lambda: new_delivery_void(delivery_id=delivery.pk, user=acme_user, reason="a"),
            lambda: new_delivery_void(delivery_id=delivery.pk, user=acme_user, reason="b"),
        ]
    )
    codes = sorted(r.code if isinstance(r, DeliveryError) else "voided" for r in results)
    assert codes == ["already_voided", "voided"]
    assert available(order) == 600
    assert AuditEvent.objects.filter(action="delivery.voided").count() == 1
    assert invariant_violations() == []


@pytest.mark.django_db(transaction=True)
def test_a_download_and_a_void_at_once_never_leave_a_downloaded_void(
    acme: Manufacturer, acme_user: User, staff_user: User
) -> None:
    for _ in range(3):
        order = delivered_license_order(acme, delivered=600)
        delivery = made(order, acme_user, 10)
        token_file = file_of(delivery)
        results = _race(
            [
                lambda d=delivery: new_delivery_void(
                    delivery_id=d.pk, user=staff_user, reason="race"
                ),
                lambda f=token_file: token_file_download_record(token_file=f, user=acme_user),
            ]
        )
        voided = NewDelivery.objects.get(pk=delivery.pk).is_voided
        downloaded = TokenDownload.objects.filter(token_file=token_file).exists()
        # Exactly one of the two went through; the other was refused with a message.
        assert voided != downloaded, results
        assert invariant_violations() == []


# --- The portal ---------------------------------------------------------------------------


def void_url(delivery: NewDelivery) -> str:
    return reverse("deliveries:void", args=[delivery.pk])


def list_url(order: PurchaseOrder) -> str:
    return reverse("deliveries:order_delivery_list", args=[order.number])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "done", "voided_label", "offer"),
    [
        ("en", "N001 is voided: its 600 tokens are revoked and available again", "Voided", "Void…"),
        ("zh-hans", "N001 已作废：其 600 个 Token 已吊销", "已作废", "作废…"),  # noqa: RUF001
    ],
)
def test_the_manufacturer_voids_from_the_list_and_sees_it_voided(
    acme_client: Client,
    order: PurchaseOrder,
    acme_user: User,
    language: str,
    done: str,
    voided_label: str,
    offer: str,
) -> None:
    delivery = made(order, acme_user, 600)
    acme_client.cookies["django_language"] = language
    with translation.override(language):
        before = page_text(acme_client.get(list_url(order)))
        assert offer in before
        response = acme_client.post(void_url(delivery), {"reason": "600 typed for 60"}, follow=True)
    assert response.status_code == 200
    text = page_text(response)
    assert done in text
    assert voided_label in text
    assert "600 typed for 60" in text
    assert 'name="reason"' not in response.content.decode()  # no second void offered
    assert reverse("tokens:download", args=[delivery.pk]) not in response.content.decode()
    with translation.override(language):
        initiate = page_text(acme_client.get(reverse("deliveries:initiate", args=[order.number])))
    assert "600" in initiate  # the available count shown afterwards
    order.refresh_from_db()
    assert order.available_new_tokens == 600


@pytest.mark.django_db
def test_voiding_one_token_says_one_token(
    acme_client: Client, order: PurchaseOrder, acme_user: User
) -> None:
    delivery = made(order, acme_user, 1)
    response = acme_client.post(void_url(delivery), {"reason": "typed 1 for 10"}, follow=True)
    assert "N001 is voided: its 1 token is revoked and available again" in page_text(response)


@pytest.mark.django_db
def test_a_downloaded_delivery_offers_no_void(
    acme_client: Client, order: PurchaseOrder, acme_user: User
) -> None:
    # The service refuses it ("already downloaded"): the row does not offer it in the first place.
    kept, downloaded = made(order, acme_user, 10), made(order, acme_user, 20)
    token_file_download_record(token_file=file_of(downloaded), user=acme_user)
    html = acme_client.get(list_url(order)).content.decode()
    assert f'id="void-reason-{kept.pk}"' in html
    assert f'id="void-reason-{downloaded.pk}"' not in html


@pytest.mark.django_db
def test_a_resubmitted_void_form_voids_once_and_says_so(
    acme_client: Client, order: PurchaseOrder, acme_user: User
) -> None:
    delivery = made(order, acme_user, 10)
    with translation.override("en"):
        acme_client.post(void_url(delivery), {"reason": "double click"})
        response = acme_client.post(void_url(delivery), {"reason": "double click"}, follow=True)
    assert "This delivery is already voided; nothing was changed." in page_text(response)
    assert AuditEvent.objects.filter(action="delivery.voided").count() == 1
    assert available(order) == 600


@pytest.mark.django_db
def test_a_voided_file_is_not_downloadable(
    acme_client: Client, order: PurchaseOrder, acme_user: User
) -> None:
    delivery = made(order, acme_user, 10)
    assert file_of(delivery).workbooks.count() == 1
    new_delivery_void(delivery_id=delivery.pk, user=acme_user, reason="mistake")
    with translation.override("en"):
        for url in (
            reverse("tokens:download", args=[delivery.pk]),
            reverse("tokens:download_file", args=[delivery.pk, "xlsx", 1]),
        ):
            response = acme_client.get(url)
            assert response.status_code == 409
            assert "This delivery was voided" in page_text(response)
        for file_format in ("csv", "xlsx"):
            response = acme_client.get(
                reverse("tokens:order_download", args=[order.number, file_format])
            )
            assert response.status_code == 409  # nothing else of the order is ready
    assert not TokenDownload.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_order_zip_leaves_out_a_voided_delivery(
    acme_client: Client, order: PurchaseOrder, acme_user: User, file_format: str
) -> None:
    kept, voided = made(order, acme_user, 10), made(order, acme_user, 20)
    new_delivery_void(delivery_id=voided.pk, user=acme_user, reason="mistake")
    response = acme_client.get(reverse("tokens:order_download", args=[order.number, file_format]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[arg-type]
    names = archive.namelist()
    assert names[-1] == "SHA256SUMS"
    assert len(names) == 2
    assert kept.number in names[0]
    assert [d.token_file.delivery for d in TokenDownload.objects.all()] == [kept]


@pytest.mark.django_db
def test_a_file_voided_after_the_zip_listed_it_is_neither_recorded_nor_sent(
    order: PurchaseOrder, acme_user: User
) -> None:
    kept, voided = made(order, acme_user, 10), made(order, acme_user, 20)
    listed = [(file_of(kept), ["a.csv"]), (file_of(voided), ["b.csv"])]
    new_delivery_void(delivery_id=voided.pk, user=acme_user, reason="mistake")
    downloads = order_token_files_download_record(
        files=listed, user=acme_user, request=None, file_format="csv", archive="x.zip"
    )
    assert [d.token_file_id for d in downloads] == [file_of(kept).pk]
    assert TokenDownload.objects.count() == 1


@pytest.mark.django_db
def test_a_void_without_a_reason_or_of_a_downloaded_delivery_is_refused_with_a_message(
    acme_client: Client, order: PurchaseOrder, acme_user: User
) -> None:
    delivery = made(order, acme_user, 10)
    with translation.override("en"):
        response = acme_client.post(void_url(delivery), {"reason": ""}, follow=True)
        assert "Give the reason for voiding this delivery." in page_text(response)
        token_file_download_record(token_file=file_of(delivery), user=acme_user)
        response = acme_client.post(void_url(delivery), {"reason": "late"}, follow=True)
    assert "its token file was already downloaded" in page_text(response)
    assert available(order) == 590


@pytest.mark.django_db
def test_another_manufacturer_cannot_void(
    globex_client: Client, order: PurchaseOrder, acme_user: User
) -> None:
    delivery = made(order, acme_user, 10)
    assert globex_client.post(void_url(delivery), {"reason": "x"}).status_code == 404
    assert available(order) == 590


# --- The admin ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "title", "done"),
    [
        ("en", "Void new deliveries", "1 new delivery voided."),
        ("zh-hans", "作废新交付", "已作废 1 个新交付。"),
    ],
)
def test_staff_void_in_the_new_deliveries_admin(
    staff_client: Client,
    order: PurchaseOrder,
    acme_user: User,
    language: str,
    title: str,
    done: str,
) -> None:
    delivery = made(order, acme_user, 100)
    changelist = reverse("admin:deliveries_newdelivery_changelist")
    staff_client.cookies["django_language"] = language
    with translation.override(language):
        listing = staff_client.get(changelist, {"q": order.number})
        assert listing.status_code == 200
        assert str(delivery) in listing.content.decode()
        selected = {"action": "void", "_selected_action": [str(delivery.pk)]}
        confirm = staff_client.post(changelist, selected)
        assert confirm.status_code == 200
        assert title in confirm.content.decode()
        response = staff_client.post(
            changelist, {**selected, "apply": "1", "reason": "recorded twice"}, follow=True
        )
    assert done in response.content.decode()
    assert available(order) == 600
    event = AuditEvent.objects.get(action="delivery.voided")
    assert event.details["reason"] == "recorded twice"
    change = staff_client.get(reverse("admin:deliveries_newdelivery_change", args=[delivery.pk]))
    assert change.status_code == 200
    assert "recorded twice" in change.content.decode()


@pytest.mark.django_db
def test_the_new_deliveries_admin_filters_by_file_state_and_voided(
    staff_client: Client, order: PurchaseOrder, acme_user: User
) -> None:
    kept = made(order, acme_user, 5)
    voided = made(order, acme_user, 5)
    new_delivery_void(delivery_id=voided.pk, user=acme_user, reason="mistake")
    changelist = reverse("admin:deliveries_newdelivery_changelist")
    shown = staff_client.get(changelist, {"voided": "yes"}).context["cl"].result_list
    assert list(shown) == [voided]
    shown = staff_client.get(changelist, {"file__status__exact": "ready"}).context["cl"].result_list
    assert list(shown) == [kept]
