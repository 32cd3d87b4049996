from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import PortalRequest, manufacturer_required
from accounts.models import User
from refurb_portal.pages import paginate, render_page
from workorders import files
from workorders.errors import WorkOrderError
from workorders.forms import ReplyForm, WorkOrderFilterForm, WorkOrderForm, submit_initial
from workorders.models import WorkOrder, WorkOrderAttachment
from workorders.selectors import (
    manufacturer_actions,
    work_order_conversation,
    work_order_for_manufacturer,
    work_order_history,
    work_order_list,
)
from workorders.services import (
    attachment_download_record,
    tool_download_record,
    work_order_close,
    work_order_confirm,
    work_order_reply,
    work_order_submit,
)
from workorders.transitions import Side


def _own_work_order(request: HttpRequest, pk: int) -> tuple[User, WorkOrder]:
    """The user and the work order if it is their manufacturer's; a 404 for anyone else."""
    user = request.user
    manufacturer = user.manufacturer if isinstance(user, User) else None
    work_order = (
        work_order_for_manufacturer(manufacturer=manufacturer, pk=pk) if manufacturer else None
    )
    if work_order is None or not isinstance(user, User):
        raise Http404
    return user, work_order


@require_GET
@manufacturer_required
def work_order_list_view(request: PortalRequest) -> HttpResponse:
    """Work orders: the manufacturer's own, newest first, filtered by status."""
    form = WorkOrderFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if request.GET and form.is_valid() else ""
    work_orders = work_order_list(manufacturer=request.manufacturer, status=status)
    listing = paginate(request, work_orders, per_page=settings.WORK_ORDERS_PER_PAGE)
    context = {"form": form, "has_filters": bool(status), **listing}
    return render_page(request, "workorders/list.html", context)


@require_http_methods(["GET", "POST"])
@manufacturer_required
def work_order_submit_view(request: PortalRequest) -> HttpResponse:
    """Submit a work order; ``?type=tool&order=<number>`` prefills the form."""
    if request.method == "POST":
        return _submit(request)
    form = WorkOrderForm(
        initial=submit_initial(query=request.GET.dict(), user=request.user),
        manufacturer=request.manufacturer,
    )
    return render(request, "workorders/submit.html", {"form": form})


def _submit(request: PortalRequest) -> HttpResponse:
    form = WorkOrderForm(request.POST, request.FILES, manufacturer=request.manufacturer)
    if not form.is_valid():
        return render(request, "workorders/submit.html", {"form": form}, status=400)
    data = form.cleaned_data
    try:
        result = work_order_submit(
            user=request.user,
            work_order_type=data["type"],
            order=data["order"],
            description=data["description"],
            contact=data["contact"],
            attachments=data["attachments"],
            submission_key=data["submission_key"],
            request=request,
        )
    except WorkOrderError as exc:
        form.add_error(exc.field, exc.message)
        return render(request, "workorders/submit.html", {"form": form}, status=exc.status)
    if result.created:
        messages.success(
            request,
            _("Work order %(number)s was submitted. Staff will answer it here.")
            % {"number": result.work_order.number},
        )
    return redirect("workorders:detail", pk=result.work_order.pk)


@require_http_methods(["GET", "POST"])
@manufacturer_required
def work_order_detail_view(request: PortalRequest, pk: int) -> HttpResponse:
    """A work order with its conversation; POST ``action`` = reply, confirm or close, each
    handled by its own function (``DETAIL_ACTIONS``)."""
    _user, work_order = _own_work_order(request, pk)
    if request.method == "GET":
        return _detail_page(request, work_order)
    action = DETAIL_ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, _("Choose reply, confirm or close."))
        return _detail_page(request, work_order, status=400)
    return action(request, work_order)


def _reply(request: PortalRequest, work_order: WorkOrder) -> HttpResponse:
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _detail_page(request, work_order, reply_form=form, status=400)
    try:
        work_order_reply(
            work_order_id=work_order.pk,
            user=request.user,
            side=Side.MANUFACTURER,
            body=form.cleaned_data["body"],
            attachments=form.cleaned_data["attachments"],
            reply_key=form.cleaned_data["reply_key"],
            request=request,
        )
    except WorkOrderError as exc:
        if exc.field:
            form.add_error(exc.field, exc.message)
        else:
            messages.error(request, exc.message)
        return _detail_page(request, work_order, reply_form=form, status=exc.status)
    messages.success(request, _("Your reply was sent."))
    return redirect("workorders:detail", pk=work_order.pk)


def _confirm(request: PortalRequest, work_order: WorkOrder) -> HttpResponse:
    return _change(
        request,
        work_order,
        lambda: work_order_confirm(work_order_id=work_order.pk, user=request.user, request=request),
        done=_("Thank you: the work order is completed."),
    )


def _close(request: PortalRequest, work_order: WorkOrder) -> HttpResponse:
    return _change(
        request,
        work_order,
        lambda: work_order_close(
            work_order_id=work_order.pk, user=request.user, side=Side.MANUFACTURER, request=request
        ),
        done=_("The work order is closed."),
    )


def _change(
    request: PortalRequest, work_order: WorkOrder, change: Callable[[], object], *, done: str
) -> HttpResponse:
    """Run a status change; redirect with ``done``, or show the refusal with its status."""
    try:
        change()
    except WorkOrderError as exc:
        messages.error(request, exc.message)
        return _detail_page(request, work_order, status=exc.status)
    messages.success(request, done)
    return redirect("workorders:detail", pk=work_order.pk)


DETAIL_ACTIONS: dict[str, Callable[[PortalRequest, WorkOrder], HttpResponse]] = {
    "reply": _reply,
    "confirm": _confirm,
    "close": _close,
}


def _detail_page(
    request: PortalRequest,
    work_order: WorkOrder,
    *,
    reply_form: ReplyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    work_order.refresh_from_db()  # a refused change may have found a newer status
    context = {
        "work_order": work_order,
        "conversation": work_order_conversation(work_order=work_order),
        "history": work_order_history(work_order=work_order),
        "reply_form": reply_form or ReplyForm(),
        "actions": manufacturer_actions(work_order=work_order),
    }
    return render(request, "workorders/detail.html", context, status=status)


# The download views check the manufacturer themselves (``_own_work_order``): they answer with
# streaming responses, which ``manufacturer_required`` is not typed for.
@require_GET
def tool_download_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The refurbishment tool staff attached: the file as a download, or the link followed.
    Only the work order's manufacturer; every download is recorded."""
    user, work_order = _own_work_order(request, pk)
    if not work_order.has_tool:
        raise Http404
    tool_download_record(work_order=work_order, user=user, request=request)
    if work_order.tool_link:
        response: HttpResponse = HttpResponseRedirect(work_order.tool_link)
        response["Cache-Control"] = "no-store"
        return response
    return files.file_response(
        storage_name=work_order.tool_storage_name,
        file_name=work_order.tool_file_name,
        kind="tool",
    )


@require_GET
def attachment_download_view(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponseBase:
    user, work_order = _own_work_order(request, pk)
    attachment = get_object_or_404(WorkOrderAttachment, pk=attachment_id, work_order=work_order)
    attachment_download_record(attachment=attachment, user=user, request=request)
    return files.file_response(
        storage_name=attachment.storage_name, file_name=attachment.file_name, kind="attachment"
    )
