"""AuthKeys stay out of the admin's pages: only the token file (CSV) holds them."""

from __future__ import annotations

import secrets
import string

import pytest
from django.apps import apps
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from accounts.models import User
from orders.models import PurchaseOrder
from tests.deliveries.conftest import take
from tokens.models import Token, TokenDownload, TokenFile

pytestmark = pytest.mark.django_db


def admin_urls(token: Token) -> list[str]:
    """Every admin list page, and the change page of the token and of every object around it
    that has an admin page (the delivery, its token files and downloads, the order). Taken from
    the admin's registry, so a page added later is read too and none is left out unsaid."""
    urls = [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in apps.get_models()
        if admin.site.is_registered(model)
    ]
    delivery = token.delivery
    around: list[Model] = [
        token,
        delivery,
        delivery.order,
        *TokenFile.objects.filter(delivery=delivery),
        *TokenDownload.objects.filter(token_file__delivery=delivery),
    ]
    for obj in around:
        if admin.site.is_registered(type(obj)):
            meta = obj._meta
            urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
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
