"""``{% refurbishment_tool_notice %}`` as the token pages will use it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory

from accounts.models import Manufacturer, User
from orders.models import PurchaseOrder
from tests.conftest import delivered_license_order
from tests.factories import WorkOrderFactory
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db
TAG = Template("{% load workorders %}{% refurbishment_tool_notice %}")


def render(user: object, **context: object) -> str:
    request = RequestFactory().get("/purchase/new-deliveries/")
    request.user = user  # type: ignore[assignment]
    return TAG.render(Context({"request": request, **context}))


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
    assert f"Your request for the refurbishment tool, {request.number}, is Processing." in html
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
