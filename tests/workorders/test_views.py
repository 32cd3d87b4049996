from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from accounts.models import Manufacturer, User
from audit.models import AuditEvent
from orders.models import PurchaseOrder
from tests.conftest import delivered_license_order
from tests.factories import PurchaseOrderFactory, WorkOrderFactory
from tests.private_storage import PrivateArea
from tests.workorders.conftest import PDF, pdf, stored_files, submit
from workorders.models import ToolDownload, WorkOrder, WorkOrderMessage
from workorders.services import work_order_tool_attach

pytestmark = pytest.mark.django_db
Status = WorkOrder.Status
LIST = "/work-orders/"
NEW = "/work-orders/new/"


def detail(work_order: WorkOrder) -> str:
    return reverse("workorders:detail", args=[work_order.pk])


def form_data(client: Client, **overrides: object) -> dict[str, object]:
    """The submit form as rendered for ``client`` (with its submission key), then filled in."""
    page = client.get(NEW)
    form = page.context["form"]
    return {
        "type": "tool",
        "order": "",
        "description": "Please send the refurbishment tool.",
        "contact": "Jane Doe, +86 21 5555 0100",
        "submission_key": str(form.initial["submission_key"]),
        **overrides,
    }


# --- list -----------------------------------------------------------------------------------


def test_the_list_shows_only_own_work_orders_newest_first(
    acme_client: Client, acme: Manufacturer, globex: Manufacturer
) -> None:
    older = WorkOrderFactory(manufacturer=acme)
    newer = WorkOrderFactory(manufacturer=acme)
    theirs = WorkOrderFactory(manufacturer=globex)
    response = acme_client.get(LIST)
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [newer, older]
    assert theirs.number not in response.content.decode()


def test_the_list_filters_by_status_and_paginates(
    acme_client: Client, acme: Manufacturer, settings: Settings
) -> None:
    settings.WORK_ORDERS_PER_PAGE = 2
    WorkOrderFactory.create_batch(3, manufacturer=acme, status=Status.PROCESSING)
    WorkOrderFactory(manufacturer=acme, status=Status.CLOSED)
    response = acme_client.get(LIST, {"status": "processing"})
    page = response.context["page"]
    assert page.paginator.count == 3
    assert len(page.object_list) == 2
    html = response.content.decode()
    assert 'href="?status=processing&amp;page=2"' in html
    second = acme_client.get(LIST, {"status": "processing", "page": 2})
    assert len(second.context["page"].object_list) == 1


def test_an_unknown_status_filter_is_ignored(acme_client: Client, acme: Manufacturer) -> None:
    WorkOrderFactory(manufacturer=acme)
    response = acme_client.get(LIST, {"status": "bogus"})
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 1


def test_htmx_gets_only_the_results(acme_client: Client, acme: Manufacturer) -> None:
    WorkOrderFactory(manufacturer=acme, status=Status.CLOSED)
    response = acme_client.get(LIST, {"status": "closed"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_the_work_orders_page_needs_login(client: Client) -> None:
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# --- submit ---------------------------------------------------------------------------------


def test_the_form_is_prefilled_from_the_query(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    response = acme_client.get(NEW, {"type": "tool", "order": "LIC-2026-0001"})
    form = response.context["form"]
    assert form.initial["type"] == "tool"
    assert form.initial["order"] == "LIC-2026-0001"
    html = response.content.decode()
    assert re.search(r'<input type="text" name="order" value="LIC-2026-0001"[^>]*list=', html)
    assert re.search(r'value="tool"[^>]*checked', html)


def test_the_order_is_typed_with_the_newest_suggested_whatever_the_history(
    acme_client: Client, acme: Manufacturer
) -> None:
    """A select of every order made the page grow with the company's history (100,000 orders:
    megabytes); the field is typed, with the newest ORDER_SUGGESTIONS numbers suggested."""
    from workorders.forms import ORDER_SUGGESTIONS

    PurchaseOrderFactory.create_batch(ORDER_SUGGESTIONS + 10, manufacturer=acme)
    html = acme_client.get(NEW).content.decode()
    suggestions = re.search(r'<datalist id="id_order-suggestions">(.*?)</datalist>', html, re.S)
    assert suggestions is not None
    assert suggestions.group(1).count("<option") == ORDER_SUGGESTIONS
    assert 'list="id_order-suggestions"' in html


def test_a_typed_order_number_is_found_in_any_case(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    response = acme_client.post(NEW, form_data(acme_client, order=" lic-2026-0001 "))
    assert response.status_code == 302, response.content
    assert WorkOrder.objects.get().order == seed_order


def test_only_a_tool_request_gets_a_prefilled_description(acme_client: Client) -> None:
    tool = acme_client.get(NEW, {"type": "tool"}).context["form"].initial
    assert "refurbishment tool" in tool["description"]
    for query in ({}, {"type": "other"}, {"type": "bogus"}):
        initial = acme_client.get(NEW, query).context["form"].initial
        assert "description" not in initial
        assert initial["contact"] == "acme@example.com"


def test_the_prefill_ignores_another_manufacturers_order(
    acme_client: Client, globex: Manufacturer
) -> None:
    delivered_license_order(globex, number="GLX-2026-0001")
    response = acme_client.get(NEW, {"type": "tool", "order": "GLX-2026-0001"})
    assert "order" not in response.context["form"].initial
    assert 'value="GLX-2026-0001"' not in response.content.decode()


def test_submitting_creates_the_work_order_and_shows_it(
    acme_client: Client, acme_user: User, seed_order: PurchaseOrder, private_storage: PrivateArea
) -> None:
    data = form_data(acme_client, order="LIC-2026-0001", attachments=[pdf("label.pdf")])
    response = acme_client.post(NEW, data)
    work_order = WorkOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail(work_order)
    assert (work_order.submitted_by, work_order.order) == (acme_user, seed_order)
    assert work_order.attachments.get().file_name == "label.pdf"
    page = acme_client.get(detail(work_order))
    html = page.content.decode()
    assert f"Work order {work_order.number} was submitted" in html
    assert "To be dispatched" in html
    assert "label.pdf" in html


def test_a_double_submit_makes_one_work_order(acme_client: Client) -> None:
    data = form_data(acme_client)
    first = acme_client.post(NEW, data)
    second = acme_client.post(NEW, data)
    assert WorkOrder.objects.count() == 1
    assert first["Location"] == second["Location"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"description": "   "}, "Describe what you need."),
        ({"contact": ""}, "Enter how staff can reach you"),
        ({"order": "GLX-2026-0001"}, "Choose one of your own purchase orders."),
        ({"order": "NO-SUCH-ORDER"}, "Choose one of your own purchase orders."),
        (
            {"attachments": [SimpleUploadedFile("tool.exe", b"MZ")]},
            "tool.exe is not an accepted file type",
        ),
        (
            {"attachments": [SimpleUploadedFile("big.pdf", PDF + b"x" * 2048)]},
            "big.pdf is 2.0\xa0KB; attachments may be at most 1.0\xa0KB each.",
        ),
        ({"submission_key": "not-a-key"}, "This form has expired"),
    ],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(
    acme_client: Client,
    globex: Manufacturer,
    settings: Settings,
    private_storage: PrivateArea,
    overrides: dict[str, object],
    message: str,
) -> None:
    settings.WORK_ORDER_ATTACHMENT_MAX_BYTES = 1024
    delivered_license_order(globex, number="GLX-2026-0001")
    response = acme_client.post(NEW, form_data(acme_client, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert WorkOrder.objects.count() == 0
    assert stored_files(private_storage) == []


def test_staff_are_sent_to_the_admin(staff_client: Client) -> None:
    assert staff_client.get(NEW)["Location"] == reverse("admin:index")


# --- detail, reply, confirm, close ----------------------------------------------------------


def test_the_conversation_is_in_time_order(
    acme_client: Client, acme_user: User, staff_user: User
) -> None:
    work_order = submit(acme_user, description="First: the request.")
    WorkOrderMessage.objects.create(
        work_order=work_order, author=staff_user, from_staff=True, body="Second: staff."
    )
    WorkOrderMessage.objects.create(
        work_order=work_order, author=acme_user, from_staff=False, body="Third: thanks."
    )
    html = acme_client.get(detail(work_order)).content.decode()
    first, second, third = (html.index(t) for t in ("First:", "Second:", "Third:"))
    assert first < second < third
    assert "Platform staff" in html


def test_the_manufacturer_replies_with_an_attachment(acme_client: Client, acme_user: User) -> None:
    work_order = submit(acme_user)
    response = acme_client.post(
        detail(work_order),
        {
            "action": "reply",
            "body": "Here is the label.",
            "attachments": [pdf("label.pdf")],
            "reply_key": reply_key(acme_client, work_order),
        },
    )
    assert response.status_code == 302
    message = work_order.messages.get()
    assert message.body == "Here is the label."
    assert message.attachments.get().file_name == "label.pdf"


def reply_key(client: Client, work_order: WorkOrder) -> str:
    """The key of the reply form as rendered on the work order's page."""
    return str(client.get(detail(work_order)).context["reply_form"]["reply_key"].value())


@pytest.mark.usefixtures("eager_tasks")
def test_a_reply_sent_twice_is_one_reply_and_one_email(
    acme_client: Client,
    acme_user: User,
    staff_user: User,
    private_storage: Path,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
) -> None:
    """A double click on a slow link: the same rendered form arrives twice."""
    work_order = submit(acme_user)
    key = reply_key(acme_client, work_order)
    data = {"action": "reply", "body": "Which module?", "reply_key": key}
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        first = acme_client.post(detail(work_order), {**data, "attachments": [pdf("a.pdf")]})
        second = acme_client.post(detail(work_order), {**data, "attachments": [pdf("a.pdf")]})
    assert (first.status_code, second.status_code) == (302, 302)
    message = work_order.messages.get()
    assert message.attachments.count() == 1
    assert len(stored_files(private_storage)) == 1
    assert len(mailoutbox) == 1
    assert AuditEvent.objects.filter(action="workorders.replied").count() == 1
    # A new form (a new key) is a new reply.
    data["reply_key"] = reply_key(acme_client, work_order)
    assert acme_client.post(detail(work_order), data).status_code == 302
    assert work_order.messages.count() == 2


def test_an_empty_reply_is_refused(acme_client: Client, acme_user: User) -> None:
    work_order = submit(acme_user)
    response = acme_client.post(detail(work_order), {"action": "reply", "body": " "})
    assert response.status_code == 400
    assert "Write a message." in response.content.decode()
    assert not work_order.messages.exists()


def test_confirm_then_close(acme_client: Client, acme: Manufacturer, acme_user: User) -> None:
    work_order = WorkOrderFactory(
        manufacturer=acme, submitted_by=acme_user, status=Status.AWAITING_CONFIRMATION
    )
    page = acme_client.get(detail(work_order)).content.decode()
    assert 'value="confirm"' in page
    acme_client.post(detail(work_order), {"action": "confirm"})
    work_order.refresh_from_db()
    assert work_order.status == Status.COMPLETED
    acme_client.post(detail(work_order), {"action": "close"})
    work_order.refresh_from_db()
    assert work_order.status == Status.CLOSED
    page = acme_client.get(detail(work_order)).content.decode()
    assert 'value="confirm"' not in page
    assert 'value="close"' not in page
    assert 'value="reply"' not in page


def test_confirm_clicked_twice_is_one_change_and_no_error(
    acme_client: Client, acme: Manufacturer, acme_user: User
) -> None:
    work_order = WorkOrderFactory(
        manufacturer=acme, submitted_by=acme_user, status=Status.AWAITING_CONFIRMATION
    )
    answers = [acme_client.post(detail(work_order), {"action": "confirm"}) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [302, 302]
    assert work_order.transitions.filter(to_status=Status.COMPLETED).count() == 1
    assert AuditEvent.objects.filter(action="workorders.transition_refused").count() == 0


def test_confirming_what_is_not_waiting_for_confirmation_is_refused(
    acme_client: Client, acme: Manufacturer, acme_user: User
) -> None:
    work_order = WorkOrderFactory(
        manufacturer=acme, submitted_by=acme_user, status=Status.PROCESSING
    )
    response = acme_client.post(detail(work_order), {"action": "confirm"})
    assert response.status_code == 409
    assert (
        "A work order whose status is “Processing” cannot be set to “Completed”"
        in response.content.decode()
    )
    work_order.refresh_from_db()
    assert work_order.status == Status.PROCESSING


def test_closing_a_closed_work_order_is_refused(
    acme_client: Client, acme: Manufacturer, acme_user: User
) -> None:
    work_order = WorkOrderFactory(manufacturer=acme, submitted_by=acme_user, status=Status.CLOSED)
    response = acme_client.post(detail(work_order), {"action": "close"})
    assert response.status_code == 409
    assert work_order.transitions.count() == 0


# --- tenancy --------------------------------------------------------------------------------


@pytest.fixture
def acme_work_order_with_files(acme_user: User, staff_user: User) -> WorkOrder:
    work_order = submit(acme_user, attachments=[pdf("label.pdf")])
    work_order_tool_attach(
        work_order_id=work_order.pk,
        user=staff_user,
        tool_file=SimpleUploadedFile("RefurbTool.zip", b"PK\x03\x04tool"),
    )
    return work_order


def test_another_manufacturers_work_order_is_404_everywhere(
    globex_client: Client, acme_work_order_with_files: WorkOrder
) -> None:
    work_order = acme_work_order_with_files
    attachment = work_order.attachments.get()
    urls = [
        detail(work_order),
        reverse("workorders:tool_download", args=[work_order.pk]),
        reverse("workorders:attachment_download", args=[work_order.pk, attachment.pk]),
    ]
    for url in urls:
        assert globex_client.get(url).status_code == 404, url
    for action in ("reply", "confirm", "close"):
        response = globex_client.post(detail(work_order), {"action": action, "body": "x"})
        assert response.status_code == 404
    work_order.refresh_from_db()
    assert work_order.status == Status.AWAITING_CONFIRMATION
    assert not work_order.messages.exists()
    assert not ToolDownload.objects.exists()


def test_an_attachment_of_another_work_order_is_404(
    acme_client: Client, acme_user: User, acme_work_order_with_files: WorkOrder
) -> None:
    other = submit(acme_user)
    attachment = acme_work_order_with_files.attachments.get()
    url = reverse("workorders:attachment_download", args=[other.pk, attachment.pk])
    assert acme_client.get(url).status_code == 404


# --- the tool download ----------------------------------------------------------------------


def test_the_owner_downloads_the_tool_and_it_is_recorded(
    acme_client: Client, acme_user: User, acme_work_order_with_files: WorkOrder
) -> None:
    work_order = acme_work_order_with_files
    page = acme_client.get(detail(work_order)).content.decode()
    url = reverse("workorders:tool_download", args=[work_order.pk])
    assert f'href="{url}"' in page
    response = acme_client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"PK\x03\x04tool"  # type: ignore[attr-defined]
    assert response["Content-Disposition"] == 'attachment; filename="RefurbTool.zip"'
    assert response["Cache-Control"] == "no-store"
    download = ToolDownload.objects.get()
    assert (download.work_order, download.user) == (work_order, acme_user)
    event = AuditEvent.objects.get(action="workorders.tool_downloaded")
    assert event.manufacturer == acme_user.manufacturer


def test_a_tool_link_is_followed_and_recorded(
    acme_client: Client, acme_user: User, staff_user: User
) -> None:
    work_order = submit(acme_user)
    work_order_tool_attach(
        work_order_id=work_order.pk, user=staff_user, tool_link="https://tools.example.com/r.zip"
    )
    response = acme_client.get(reverse("workorders:tool_download", args=[work_order.pk]))
    assert response.status_code == 302
    assert response["Location"] == "https://tools.example.com/r.zip"
    assert ToolDownload.objects.count() == 1


def test_no_tool_yet_is_404(acme_client: Client, acme_user: User) -> None:
    work_order = submit(acme_user)
    assert (
        acme_client.get(reverse("workorders:tool_download", args=[work_order.pk])).status_code
        == 404
    )


def test_the_owner_downloads_an_attachment(
    acme_client: Client, acme_work_order_with_files: WorkOrder
) -> None:
    attachment = acme_work_order_with_files.attachments.get()
    response = acme_client.get(
        reverse("workorders:attachment_download", args=[attachment.work_order_id, attachment.pk])
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"] == 'attachment; filename="label.pdf"'
