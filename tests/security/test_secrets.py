"""AuthKeys stay out of the admin's pages: only the token file (CSV) holds them."""

from __future__ import annotations

import secrets
import string

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from accounts.models import User
from orders.models import PurchaseOrder
from tests.deliveries.conftest import take
from tokens.models import Token

pytestmark = pytest.mark.django_db


def admin_urls(token: Token) -> list[str]:
    """The token's admin pages, and every admin list page that may show tokens inline."""
    urls = []
    for name, args in (
        ("admin:tokens_token_changelist", []),
        ("admin:tokens_token_change", [token.pk]),
        ("admin:deliveries_newdelivery_change", [token.delivery_id]),
        ("admin:tokens_tokenfile_changelist", []),
    ):
        try:
            urls.append(reverse(name, args=args))
        except NoReverseMatch:
            continue  # that admin page does not exist (yet); nothing to leak there
    return urls


def test_the_admin_never_shows_an_auth_key(
    staff_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 1).delivery
    key = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    token = Token.objects.create(
        delivery=delivery,
        product=delivery.product,
        serial=1,
        uuid="uuidsecuritytest0001",
        auth_key=key,
    )
    urls = admin_urls(token)
    assert reverse("admin:tokens_token_change", args=[token.pk]) in urls
    for url in urls:
        for query in ({}, {"q": token.uuid}):
            response = staff_client.get(url, query)
            assert response.status_code in {200, 302}, url
            assert key not in response.content.decode(), f"{url} shows the AuthKey"
