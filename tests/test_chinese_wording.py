# ruff: noqa: RUF001 - the Chinese texts expected use full-width punctuation
"""Chinese pages read as Chinese: lists joined with the enumeration comma, history lines as whole
sentences in the language's own word order, no space after a full-width colon."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from api.models import ApiKey
from api.services import api_key_create
from orders.models import PurchaseOrder
from refurb_portal.formats import list_join
from tests.workorders.conftest import submit
from workorders import files
from workorders.models import WorkOrder
from workorders.services import work_order_transition
from workorders.transitions import Side

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def test_lists_join_as_the_language_does() -> None:
    with translation.override("en"):
        assert list_join(["a", "b", "c"]) == "a, b, c"
    with translation.override("zh-hans"):
        assert list_join(["a", "b", "c"]) == "a、b、c"
        assert ", " not in files.accepted_extensions_text()
        assert "、" in files.accepted_extensions_text()


def test_an_api_keys_permissions_are_listed_with_the_enumeration_comma(
    acme_client: Client, acme_user: User
) -> None:
    api_key_create(user=acme_user, name="ERP", scopes=["read", "download"])
    html = acme_client.get(reverse("api_keys:list"), **ZH).content.decode()
    with translation.override("zh-hans"):
        labels = ApiKey.objects.get().scope_labels()
    assert len(labels) == 2
    assert "、".join(labels) in html


def test_the_history_says_who_did_what_in_whole_sentences(
    acme_client: Client, acme_user: User, staff_user: User
) -> None:
    work_order = submit(acme_user)
    page = reverse("workorders:detail", kwargs={"pk": work_order.pk})
    assert "Submitted by acme." in acme_client.get(page).content.decode()
    assert "由 acme 提交。" in acme_client.get(page, **ZH).content.decode()
    work_order_transition(
        work_order_id=work_order.pk,
        user=staff_user,
        side=Side.STAFF,
        to_status=WorkOrder.Status.PROCESSING,
    )
    english = acme_client.get(page).content.decode()
    assert "Platform staff set the status to “Processing”." in english
    with translation.override("zh-hans"):
        processing = str(WorkOrder.Status.PROCESSING.label)
    assert f"平台工作人员将状态设为“{processing}”。" in acme_client.get(page, **ZH).content.decode()


def test_no_space_follows_the_full_width_colon(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    page = reverse("deliveries:initiate", args=[seed_order.number])
    html = acme_client.get(page, **ZH).content.decode()
    assert "可用新 Token：<strong>600</strong>" in html
    assert "Available new tokens: <strong>600</strong>" in acme_client.get(page).content.decode()
