from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts.access import PortalRequest, manufacturer_required
from accounts.models import User
from workorders import files
from workorders.errors import WorkOrderError
from workorders.forms import ReplyForm, WorkOrderFilterForm, WorkOrderForm, submit_initial
from workorders.models import WorkOrder, WorkOrderAttachment
from workorders.selectors import (
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
from workorders.transitions import OPEN_STATUSES, Side, is_allowed


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
@vary_on_headers("HX-Request")
@manufacturer_required
def work_order_list_view(request: PortalRequest) -> HttpResponse:
    """Work orders: the manufacturer's own, newest first, filtered by status."""
    form = WorkOrderFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if request.GET and form.is_valid() else ""
    work_orders = work_order_list(manufacturer=request.manufacturer, status=status)
    per_page = getattr(settings, "WORK_ORDERS_PER_PAGE", 20)
    page = Paginator(work_orders, per_page).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "status": status}
    if request.htmx and not request.htmx.boosted:
        return render(request, "workorders/list.html#results", context)
    return render(request, "workorders/list.html", context)


@require_http_methods(["GET", "POST"])
@manufacturer_required
def work_order_submit_view(request: PortalRequest) -> HttpResponse:
    """Submit a work order; ``?type=tool&order=<number>`` prefills the form."""
    if request.method == "POST":
        form = WorkOrderForm(request.POST, request.FILES, manufacturer=request.manufacturer)
        if form.is_valid():
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
            else:
                if result.created:
                    messages.success(
                        request,
                        _("Work order %(number)s was submitted. Staff will answer it here.")
                        % {"number": result.work_order.number},
                    )
                return redirect("workorders:detail", pk=result.work_order.pk)
        status = 400
    else:
        form = WorkOrderForm(
            initial=submit_initial(query=request.GET.dict(), user=request.user),
            manufacturer=request.manufacturer,
        )
        status = 200
    return render(request, "workorders/submit.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@manufacturer_required
def work_order_detail_view(request: PortalRequest, pk: int) -> HttpResponse:
    """A work order with its conversation; POST ``action`` = reply, confirm or close."""
    _user, work_order = _own_work_order(request, pk)
    reply_form = ReplyForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "reply":
                reply_form = ReplyForm(request.POST, request.FILES)
                if reply_form.is_valid():
                    work_order_reply(
                        work_order_id=work_order.pk,
                        user=request.user,
                        side=Side.MANUFACTURER,
                        body=reply_form.cleaned_data["body"],
                        attachments=reply_form.cleaned_data["attachments"],
                        request=request,
                    )
                    messages.success(request, _("Your reply was sent."))
                    return redirect("workorders:detail", pk=work_order.pk)
            elif action == "confirm":
                work_order_confirm(work_order_id=work_order.pk, user=request.user, request=request)
                messages.success(request, _("Thank you: the work order is completed."))
                return redirect("workorders:detail", pk=work_order.pk)
            elif action == "close":
                work_order_close(
                    work_order_id=work_order.pk,
                    user=request.user,
                    side=Side.MANUFACTURER,
                    request=request,
                )
                messages.success(request, _("The work order is closed."))
                return redirect("workorders:detail", pk=work_order.pk)
            else:
                messages.error(request, _("Choose reply, confirm or close."))
        except WorkOrderError as exc:
            if exc.field and action == "reply":
                reply_form.add_error(exc.field, exc.message)
            else:
                messages.error(request, exc.message)
            status = 409 if exc.code in {"transition_not_allowed", "not_open", "busy"} else 400
        else:
            status = 400
        work_order.refresh_from_db()
    context = {
        "work_order": work_order,
        "conversation": work_order_conversation(work_order=work_order),
        "history": work_order_history(work_order=work_order),
        "reply_form": reply_form,
        "can_reply": work_order.status in OPEN_STATUSES,
        "can_confirm": is_allowed(
            from_status=work_order.status,
            to_status=WorkOrder.Status.COMPLETED,
            side=Side.MANUFACTURER,
        ),
        "can_close": is_allowed(
            from_status=work_order.status,
            to_status=WorkOrder.Status.CLOSED,
            side=Side.MANUFACTURER,
        ),
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
