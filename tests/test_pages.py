"""Every page that answers htmx with a partial answers a history restore with the whole page.

When htmx misses its history cache (Back after several swaps) it fetches the URL again with
``HX-Request`` and ``HX-History-Restore-Request``; answered with the bare ``#results`` fragment,
the window would lose its header, navigation and filters. Caches must key on both headers.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from orders.models import PurchaseOrder

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
HISTORY_RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}

PAGES: dict[str, tuple[Callable[[PurchaseOrder], str], str]] = {
    "purchase orders": (lambda o: reverse("orders:purchase_order_list"), '<section id="results"'),
    "work orders": (lambda o: reverse("workorders:list"), '<section id="results"'),
    "activity": (lambda o: reverse("audit:activity"), '<section id="results"'),
    "all new deliveries": (lambda o: reverse("deliveries:delivery_list"), '<section id="results"'),
    "an order's new deliveries": (
        lambda o: reverse("deliveries:order_delivery_list", args=[o.number]),
        '<section id="results"',
    ),
    "initiate new delivery": (
        lambda o: reverse("deliveries:initiate", args=[o.number]),
        '<section id="take-delivery"',
    ),
}


@pytest.mark.parametrize("page", PAGES)
def test_a_history_restore_gets_the_whole_page(
    acme_client: Client, seed_order: PurchaseOrder, page: str
) -> None:
    url_of, fragment_start = PAGES[page]
    url = url_of(seed_order)

    swapped = acme_client.get(url, headers=HTMX)
    assert swapped.content.decode().lstrip().startswith(fragment_start)

    restored = acme_client.get(url, headers=HISTORY_RESTORE)
    html = restored.content.decode()
    assert restored.status_code == 200
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert '<nav class="topnav"' in html
    assert fragment_start in html
    # Only one live region: the out-of-band copy belongs to partial answers alone.
    assert html.count('id="messages"') == 1
    for header in ("HX-Request", "HX-History-Restore-Request"):
        assert header in restored["Vary"]
        assert header in swapped["Vary"]
