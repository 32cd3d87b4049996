from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from orders.models import PurchaseOrder


@pytest.mark.django_db
def test_another_manufacturers_order_is_a_translated_404_in_the_portal_layout(
    globex_client: Client, seed_order: PurchaseOrder
) -> None:
    url = f"/purchase/orders/{seed_order.number}/new-delivery/"
    response = globex_client.get(url)
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert 'href="/purchase/orders/"' in html  # the way back
    # Nothing of the order leaks (its number appears only in the echoed URL of the language form).
    assert html.count(seed_order.number) == 1
    for product in seed_order.products.all():
        assert product.name not in html
    globex_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = globex_client.get(url).content.decode()
    assert "页面不存在" in chinese
    assert 'lang="zh-hans"' in chinese


@pytest.mark.django_db
def test_a_stale_form_gets_the_portals_page_and_a_header_for_the_pages_script(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    stale = Client(enforce_csrf_checks=True)
    stale.cookies = acme_client.cookies
    url = f"/purchase/orders/{seed_order.number}/new-delivery/"
    response = stale.post(
        url, {"quantity": "1"}, headers={"HX-Request": "true", "Accept-Language": "en"}
    )
    assert response.status_code == 403
    assert response["X-CSRF-Failure"] == "true"
    html = response.content.decode()
    assert "This page has expired" in html
    assert f'href="{url}"' in html  # the way back: reload the page
    seed_order.refresh_from_db()
    assert seed_order.new_tokens_delivered == 0
