"""The admin's index as staff read it: each app under a name of ours, in their language, and the
portal's icon (no request for /favicon.ico that answers 404)."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Manufacturer, User
from tests.factories import WorkOrderFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "headings"),
    [
        ("en", ["Two-factor: authenticator apps", "Two-factor: backup codes",
                "Log-in attempts and lockouts"]),
        ("zh-hans", ["双重身份验证：身份验证器应用", "双重身份验证：备用码", "登录尝试与锁定"]),  # noqa: RUF001
    ],
)  # fmt: skip
def test_the_admin_index_names_every_app_in_the_staffs_language(
    staff_client: Client, language: str, headings: list[str]
) -> None:
    response = staff_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    html = response.content.decode()
    for heading in headings:
        assert heading in html
    for raw in ("Otp_Totp", "Otp_Static", ">Axes<"):
        assert raw not in html
    assert 'rel="icon"' in html


def test_accounts_keeps_its_own_app_config() -> None:
    # Renaming the third-party apps once put their configs in accounts/apps.py: Django then chose
    # none of them for `accounts`, and AccountsConfig.ready() (the log-in signals) never ran.
    from django.apps import apps

    from accounts.apps import AccountsConfig

    assert type(apps.get_app_config("accounts")) is AccountsConfig


# Our apps, and the third-party ones whose headings and model names staff read in the admin.
OURS = ("accounts", "orders", "deliveries", "tokens", "workorders", "audit", "api", "webhooks")
OURS += ("notifications", "otp_static", "otp_totp", "axes")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Names the Chinese portal keeps in Latin letters, as its glossary says them.
LATIN_TERMS = {"Token", "API", "Webhook"}


@pytest.mark.parametrize("label", OURS)
def test_every_app_and_model_name_has_its_chinese(label: str) -> None:
    config = apps.get_app_config(label)
    with translation.override("zh-hans"):
        names = [config.verbose_name]
        for model in config.get_models():
            names += [model._meta.verbose_name, model._meta.verbose_name_plural]
        texts = [str(name) for name in names]
    untranslated = [text for text in texts if not CJK.search(text) and text not in LATIN_TERMS]
    assert untranslated == []


def test_the_chinese_admin_reads_in_chinese(
    staff_client: Client, acme: Manufacturer, staff_user: User
) -> None:
    index = staff_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = index.content.decode()
    for chinese in ("账户", "备用码设备", "TOTP 设备", "登录尝试", "登录失败", "登录日志"):
        assert chinese in html
    for english in (">Accounts<", "Static devices", "TOTP devices", "Access attempts"):
        assert english not in html
    for english in ("Access failures", "Access logs"):
        assert english not in html
    work_order = WorkOrderFactory(manufacturer=acme)
    change = reverse("admin:workorders_workorder_change", args=[work_order.pk])
    page = staff_client.get(change, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "编号" in page
    assert "Number:" not in page
    listing = reverse("admin:workorders_workorder_changelist")
    actions = staff_client.get(listing, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "- Select an option -" not in actions
    assert "- 请选择 -" in actions  # the blank choice of the actions' select
