"""Staff side: token files with their failure reason, retry, download; tokens masked."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEvent
from orders.models import PurchaseOrder
from tests.tokens.conftest import file_bytes, file_of, take
from tokens.generation import token_file_generate
from tokens.models import Token, TokenDownload, TokenFile

pytestmark = pytest.mark.django_db


def test_staff_see_why_a_file_failed_and_can_retry_it(
    staff_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    token_file = file_of(take(seed_order, acme_user, 10))
    TokenFile.objects.filter(pk=token_file.pk).update(
        status=TokenFile.Status.FAILED, error="OSError: No space left on device", attempts=2
    )
    changelist = reverse("admin:tokens_tokenfile_changelist")
    assert "Failed" in staff_client.get(changelist).content.decode()
    change = staff_client.get(reverse("admin:tokens_tokenfile_change", args=[token_file.pk]))
    assert "OSError: No space left on device" in change.content.decode()

    response = staff_client.post(
        changelist, {"action": "retry", "_selected_action": [token_file.pk]}, follow=True
    )
    assert "1 token file sent again." in response.content.decode()
    token_file.refresh_from_db()
    assert (token_file.status, token_file.error, token_file.attempts) == ("pending", "", 0)
    event = AuditEvent.objects.get(action="tokens.file_retried")
    assert event.details["previous_error"] == "OSError: No space left on device"


def test_retry_leaves_files_that_did_not_fail(
    staff_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    token_file = token_file_generate(token_file_id=file_of(take(seed_order, acme_user, 10)).pk)
    assert token_file is not None
    response = staff_client.post(
        reverse("admin:tokens_tokenfile_changelist"),
        {"action": "retry", "_selected_action": [token_file.pk]},
        follow=True,
    )
    assert "1 token file was not failed and was left as it is." in response.content.decode()
    token_file.refresh_from_db()
    assert token_file.status == TokenFile.Status.READY


def test_staff_download_from_the_admin_is_recorded(
    staff_client: Client, staff_user: User, seed_order: PurchaseOrder, acme_user: User
) -> None:
    token_file = token_file_generate(token_file_id=file_of(take(seed_order, acme_user, 10)).pk)
    assert token_file is not None
    change = staff_client.get(reverse("admin:tokens_tokenfile_change", args=[token_file.pk]))
    url = reverse("admin:tokens_tokenfile_download", args=[token_file.pk])
    assert url in change.content.decode()
    response = staff_client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == file_bytes(token_file)  # type: ignore[arg-type]
    download = TokenDownload.objects.get()
    assert (download.user, download.channel) == (staff_user, TokenDownload.Channel.ADMIN)
    assert AuditEvent.objects.filter(action="tokens.downloaded", actor=staff_user).exists()


def test_a_manufacturer_cannot_use_the_admin_download(
    acme_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    token_file = token_file_generate(token_file_id=file_of(take(seed_order, acme_user, 10)).pk)
    assert token_file is not None
    response = acme_client.get(reverse("admin:tokens_tokenfile_download", args=[token_file.pk]))
    assert response.status_code == 302
    assert not TokenDownload.objects.exists()


def test_the_authkey_is_never_listed_and_shown_masked(
    staff_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    delivery = take(seed_order, acme_user, 5)
    token_file_generate(token_file_id=file_of(delivery).pk)
    token = Token.objects.filter(delivery=delivery).first()
    assert token is not None
    listing = staff_client.get(reverse("admin:tokens_token_changelist")).content.decode()
    assert token.uuid in listing
    for key in Token.objects.values_list("auth_key", flat=True):
        assert key not in listing
    found = staff_client.get(reverse("admin:tokens_token_changelist"), {"q": token.uuid})
    assert found.context["cl"].result_count == 1
    page = staff_client.get(reverse("admin:tokens_token_change", args=[token.pk])).content.decode()
    assert token.auth_key not in page
    assert "•" * 28 + token.auth_key[-4:] in page


def test_staff_cannot_add_change_or_delete_tokens_or_files(staff_user: User) -> None:
    request = RequestFactory().get("/")
    request.user = staff_user
    for model in (Token, TokenFile, TokenDownload):
        model_admin = admin.site._registry[model]
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


def test_staff_see_each_excel_part_with_its_size_and_hash(
    staff_client: Client, seed_order: PurchaseOrder, acme_user: User
) -> None:
    token_file = token_file_generate(token_file_id=file_of(take(seed_order, acme_user, 10)).pk)
    assert token_file is not None
    (workbook,) = token_file.workbooks.all()
    page = staff_client.get(reverse("admin:tokens_tokenfile_change", args=[token_file.pk]))
    html = page.content.decode()
    assert f"{workbook.file_name} · {workbook.size_bytes / 1024:.1f}\xa0KB" in html
    assert workbook.sha256 in html
