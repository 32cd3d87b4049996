"""``{% refurbishment_tool_notice %}`` as the token pages will use it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from accounts.models import Manufacturer, User
from orders.models import PurchaseOrder
from tests.conftest import delivered_license_order
from tests.deliveries.conftest import take
from tests.factories import UserFactory, WorkOrderFactory
from tokens.models import TokenDownload
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db
TAG = Template("{% load workorders %}{% refurbishment_tool_notice %}")


def render(user: object, *, tag: Template = TAG, **context: object) -> str:
    request = RequestFactory().get("/purchase/new-deliveries/")
    request.user = user  # type: ignore[assignment]
    return tag.render(Context({"request": request, **context}))


def test_without_a_request_it_offers_the_prefilled_form(
    acme_user: User, seed_order: PurchaseOrder
) -> None:
    html = render(acme_user, order=seed_order)
    assert "you need the refurbishment tool" in html
    assert "Request the refurbishment tool" in html
    assert 'href="/work-orders/new/?type=tool&amp;order=LIC-2026-0001"' in html


def test_without_an_order_in_the_context_the_link_has_only_the_type(acme_user: User) -> None:
    assert 'href="/work-orders/new/?type=tool"' in render(acme_user)


def test_another_manufacturers_order_is_not_put_in_the_link(
    acme_user: User, globex: Manufacturer
) -> None:
    theirs = delivered_license_order(globex, number="GLX-2026-0001")
    html = render(acme_user, order=theirs)
    assert "GLX-2026-0001" not in html


def test_with_a_request_it_links_to_it_with_its_status(acme: Manufacturer, acme_user: User) -> None:
    WorkOrderFactory(manufacturer=acme, type=WorkOrder.Type.OTHER)
    request = WorkOrderFactory(
        manufacturer=acme, submitted_by=acme_user, status=WorkOrder.Status.PROCESSING
    )
    html = render(acme_user)
    assert (
        f"Staff are working on your request for the refurbishment tool, {request.number}." in html
    )
    assert f'href="/work-orders/{request.pk}/"' in html
    assert "Request the refurbishment tool" not in html


def test_another_manufacturers_request_does_not_count(
    acme_user: User, globex: Manufacturer
) -> None:
    WorkOrderFactory(manufacturer=globex)
    assert "Request the refurbishment tool" in render(acme_user)


def test_nothing_for_staff_or_anonymous(staff_user: User) -> None:
    assert render(staff_user).strip() == ""
    assert render(AnonymousUser()).strip() == ""


# --- after_download: shown once the manufacturer has downloaded a token file (R12) -----------

AFTER_DOWNLOAD = Template(
    "{% load workorders %}{% refurbishment_tool_notice after_download=True %}"
)


def downloaded(order: PurchaseOrder, user: User, *, channel: str = "portal") -> None:
    """One download of a new delivery's token file by ``user``, as the download view records it."""
    result = take(order, user, 1)
    TokenDownload.objects.create(token_file=result.delivery.file, user=user, channel=channel)


def after_download(user: object) -> str:
    return render(user, tag=AFTER_DOWNLOAD)


def test_after_the_first_download_it_offers_the_form(
    acme_user: User, seed_order: PurchaseOrder
) -> None:
    assert "refurbishment tool" not in after_download(acme_user)
    downloaded(seed_order, acme_user)
    html = after_download(acme_user)
    assert "you need the refurbishment tool" in html
    assert 'href="/work-orders/new/?type=tool&amp;order=LIC-2026-0001"' in html


def test_a_colleagues_download_counts_for_the_whole_manufacturer(
    acme: Manufacturer, acme_user: User, seed_order: PurchaseOrder
) -> None:
    downloaded(seed_order, acme_user)
    colleague = UserFactory(username="acme-line-2", manufacturer=acme)
    assert "Request the refurbishment tool" in after_download(colleague)


def test_another_manufacturers_and_staff_downloads_do_not_count(
    acme_user: User, globex_user: User, globex: Manufacturer, staff_user: User
) -> None:
    theirs = delivered_license_order(globex, number="GLX-2026-0001")
    downloaded(theirs, globex_user)
    ours = delivered_license_order(acme_user.manufacturer, number="LIC-2026-0002")
    downloaded(ours, staff_user, channel="admin")
    assert "refurbishment tool" not in after_download(acme_user)


def test_after_a_download_with_a_request_it_links_to_the_request(
    acme: Manufacturer, acme_user: User, seed_order: PurchaseOrder
) -> None:
    request = WorkOrderFactory(manufacturer=acme, submitted_by=acme_user)
    downloaded(seed_order, acme_user)
    html = after_download(acme_user)
    assert f'href="/work-orders/{request.pk}/"' in html
    assert "Request the refurbishment tool" not in html


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("status", WorkOrder.Status.values)
def test_each_status_is_said_as_a_sentence(
    acme: Manufacturer, acme_user: User, status: str, language: str
) -> None:
    """Not a label dropped into a sentence ("... is To be dispatched."): one sentence per
    status, with the request's number, in each language."""
    request = WorkOrderFactory(manufacturer=acme, submitted_by=acme_user, status=status)
    with translation.override(language):
        html = render(acme_user)
        label = str(WorkOrder.Status(status).label)
    assert request.number in html
    assert f"is {label}" not in html
    if language == "zh-hans":
        assert "refurbishment tool" not in html  # translated, not left in English
