from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from api.models import ApiKey
from api.services import api_key_create
from orders.models import PurchaseOrder

ALL_SCOPES = list(ApiKey.Scope.values)


def make_key(user: User, scopes: list[str] | None = None, name: str = "Line 3 MES") -> str:
    """A new key's plaintext, made through the service."""
    return api_key_create(user=user, name=name, scopes=scopes or ALL_SCOPES).plaintext


class ApiClient:
    """Django's test client speaking to the API with a bearer key (no session, no CSRF)."""

    def __init__(self, key: str | None, language: str = "en") -> None:
        self.client = Client()
        self.headers: dict[str, str] = {"Accept-Language": language}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"

    def get(self, path: str, **headers: Any) -> Any:
        return self.client.get(path, headers={**self.headers, **headers})

    def post(self, path: str, body: dict[str, Any] | None = None, **headers: Any) -> Any:
        return self.client.post(
            path, body or {}, content_type="application/json", headers={**self.headers, **headers}
        )


def take(api: ApiClient, order: PurchaseOrder, quantity: int = 5, **headers: Any) -> Any:
    """Take ``quantity`` new tokens of the order's first product through the API."""
    product = order.products.order_by("pk").first()
    assert product is not None
    return api.post(
        f"/api/v1/orders/{order.number}/deliveries",
        {"product_id": product.product_id, "quantity": quantity},
        **headers,
    )


@pytest.fixture
def acme_key(acme_user: User) -> str:
    return make_key(acme_user)


@pytest.fixture
def acme_api(acme_key: str) -> ApiClient:
    return ApiClient(acme_key)


@pytest.fixture(autouse=True)
def _remove_token_files() -> Iterator[None]:
    yield
    shutil.rmtree(settings.PRIVATE_STORAGE_ROOT / "token-files", ignore_errors=True)
