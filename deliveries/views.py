from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import PortalRequest, manufacturer_required
from accounts.ratelimit import rate_limit_attempt
from deliveries.errors import DeliveryError
from deliveries.exports import NEW_DELIVERY_COLUMNS
from deliveries.forms import (
    NewDeliveryFilterForm,
    NewDeliveryForm,
    OldUuidListForm,
    TargetedTakeForm,
    VoidForm,
)
from deliveries.models import NewDelivery
from deliveries.old_uuids import (
    ListCheck,
    OldUuidList,
    old_uuid_list_check,
    old_uuid_list_store,
    old_uuid_lists_unsupported,
    old_uuid_problems_csv,
    read_lines,
)
from deliveries.selectors import (
    NewDeliveryOptions,
    new_delivery_list,
    new_delivery_options,
    new_delivery_products,
)
from deliveries.services import TakeResult, new_delivery_take, new_delivery_void
from orders.models import PurchaseOrder
from refurb_portal.errors import DomainError
from refurb_portal.exports import EXPORT_CHUNK_ROWS, export_response
from refurb_portal.pages import paginate, render_page
from tokens.selectors import original_token_files

TAKE_FIELDS = ("product", "quantity", "idempotency_key")
INITIATE = "deliveries/initiate.html"


def _own_order(request: PortalRequest, number: str) -> PurchaseOrder:
    """The manufacturer's order ``number`` (with its module, for the reasons shown); else 404."""
    return get_object_or_404(
        PurchaseOrder.objects.select_related("module"),
        number=number,
        manufacturer=request.manufacturer,
    )


def _deliveries(
    request: PortalRequest, *, order: PurchaseOrder | None
) -> tuple[NewDeliveryFilterForm, bool, QuerySet[NewDelivery]]:
    """The list's filter form as the URL fills it, whether it filters, and the deliveries."""
    products = new_delivery_products(manufacturer=request.manufacturer, order=order)
    form = NewDeliveryFilterForm(
        request.GET or None, products=products, of_one_order=order is not None
    )
    filters = form.valid_filters() if request.GET else {}
    deliveries = new_delivery_list(manufacturer=request.manufacturer, order=order, **filters)
    return form, any(value is not None and value != "" for value in filters.values()), deliveries


def _delivery_list(request: PortalRequest, *, order: PurchaseOrder | None) -> HttpResponse:
    form, has_filters, deliveries = _deliveries(request, order=order)
    listing = paginate(
        request,
        deliveries,
        per_page=settings.NEW_DELIVERIES_PER_PAGE,
        count_cap=settings.LIST_COUNT_CAP,
    )
    files = [getattr(delivery, "file", None) for delivery in listing["page"].object_list]
    # The results poll themselves while a file on the page is still being made; the answer
    # rendered once all are done carries no trigger, and the polling stops.
    polling = any(f is not None and f.in_progress for f in files)
    context = {"order": order, "polling": polling, "form": form, "has_filters": has_filters}
    return render_page(request, "deliveries/delivery_list.html", {**context, **listing})


def _delivery_export(
    request: PortalRequest, *, order: PurchaseOrder | None, file_format: str
) -> HttpResponseBase:
    _form, _has_filters, deliveries = _deliveries(request, order=order)
    name = f"new-deliveries-{order.number}" if order is not None else "new-deliveries"
    return export_response(
        # The files' .xlsx parts are not exported: no prefetch of them per chunk.
        rows=deliveries.prefetch_related(None).iterator(chunk_size=EXPORT_CHUNK_ROWS),
        columns=NEW_DELIVERY_COLUMNS,
        file_format=file_format,
        filename=name,
    )


@require_GET
@manufacturer_required
def delivery_list_view(request: PortalRequest) -> HttpResponse:
    """New delivery list of Token across all the manufacturer's orders."""
    return _delivery_list(request, order=None)


@require_GET
@manufacturer_required
def order_delivery_list_view(request: PortalRequest, number: str) -> HttpResponse:
    """New delivery list of Token of one order."""
    order = get_object_or_404(PurchaseOrder, number=number, manufacturer=request.manufacturer)
    return _delivery_list(request, order=order)


@require_GET
@manufacturer_required  # type: ignore[arg-type]  # typed for HttpResponse; an export streams
def delivery_export_view(request: PortalRequest, file_format: str) -> HttpResponseBase:
    """The rows of the New delivery list of Token under the URL's filters, as a file."""
    return _delivery_export(request, order=None, file_format=file_format)


@require_GET
@manufacturer_required  # type: ignore[arg-type]  # typed for HttpResponse; an export streams
def order_delivery_export_view(
    request: PortalRequest, number: str, file_format: str
) -> HttpResponseBase:
    """The rows of one order's New delivery list of Token under the URL's filters, as a file."""
    order = get_object_or_404(PurchaseOrder, number=number, manufacturer=request.manufacturer)
    return _delivery_export(request, order=order, file_format=file_format)


@require_http_methods(["GET", "POST"])
@manufacturer_required
def initiate_new_delivery_view(request: PortalRequest, number: str) -> HttpResponse:
    """Initiate new delivery: GET shows the form, POST takes the delivery.

    With HTMX the POST answers with the form and availability part and a success message for
    the page's live region; without JavaScript it redirects back (POST/redirect/GET).
    """
    options = new_delivery_options(order=_own_order(request, number))
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "check_list":
            return _check_list(request, options)
        if action == "take_list":
            return _take_list(request, options)
        return _take_delivery(request, options)
    if any(name in request.GET for name in TAKE_FIELDS):
        # Taking delivery changes data: only a POST carrying the CSRF token may do it.
        return HttpResponseNotAllowed(["POST"])
    return _take_page(request, options, form=_blank_form(options))


def _take_delivery(request: PortalRequest, options: NewDeliveryOptions) -> HttpResponse:
    """The Take delivery button: the form parses, the service decides, the page shows."""
    form = NewDeliveryForm(
        request.POST, products=[e.product for e in options.products], available=options.available
    )
    if not form.is_valid():
        quantity = form.cleaned_data.get("quantity")
        too_many = options.quantity_refusal(quantity) if quantity is not None else None
        if too_many:  # with a missing product, say at once that the number is too large too
            form.add_error(too_many.field, too_many.message)
        return _take_page(request, options, form=form)
    try:
        result = _take(request, options.order, **form.cleaned_data)
    except DomainError as exc:
        form.add_error(exc.field, exc.message)
        return _take_page(request, options, form=form, renew_key=exc.code == "key_reused")
    message = render_to_string(f"{INITIATE}#taken_message", {"result": result}, request)
    if not request.htmx:
        messages.success(request, message)
        return redirect("deliveries:initiate", number=options.order.number)
    after = new_delivery_options(order=_own_order(request, options.order.number))
    form = _blank_form(after, initial_product=result.delivery.product_id)
    return _take_page(request, after, form=form, taken_message=message)


def _check_list(request: PortalRequest, options: NewDeliveryOptions) -> HttpResponse:
    """The Check the list button: read the pasted or uploaded list (streaming), keep it, and
    show what every line is (``deliveries.old_uuids``)."""
    form = OldUuidListForm(request.POST, request.FILES)
    if not form.is_valid():
        return _take_page(request, options, form=_blank_form(options), list_form=form)
    upload = form.cleaned_data["old_uuids_file"]
    if upload:
        stream, name = upload.file, upload.name
    else:
        stream, name = io.BytesIO(form.cleaned_data["old_uuids"].encode()), "paste.txt"
    try:
        key = old_uuid_list_store(order_id=options.order.pk, lines=read_lines(stream, name=name))
        check = old_uuid_list_check(order_id=options.order.pk, key=key)
    except DeliveryError as exc:
        form.add_error(None, exc.message)
        return _take_page(request, options, form=_blank_form(options), list_form=form)
    return _take_page(request, options, form=_blank_form(options), check=check)


def _take_list(request: PortalRequest, options: NewDeliveryOptions) -> HttpResponse:
    """Take delivery for a checked list: its valid lines, when the user accepted the problems;
    refused (and shown again as it is now) when they remain or changed meanwhile."""
    form = TargetedTakeForm(request.POST, products=_products(options))
    if not form.is_valid():
        return _take_page(request, options, form=_blank_form(options), targeted_form=form)
    data = form.cleaned_data
    old_uuids = OldUuidList(key=data["list_key"], valid_only=data["valid_only"])
    try:
        result = _take(request, options.order, **_take_fields(data), old_uuids=old_uuids)
    except DomainError as exc:
        check = _check_again(options, old_uuids)
        form.add_error(None, exc.message)
        return _take_page(
            request, options, form=_blank_form(options), check=check, targeted_form=form
        )
    message = render_to_string(f"{INITIATE}#taken_message", {"result": result}, request)
    messages.success(request, message)
    return redirect("deliveries:initiate", number=options.order.number)


def _take_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {name: data[name] for name in TAKE_FIELDS}


def _check_again(options: NewDeliveryOptions, old_uuids: OldUuidList) -> ListCheck | None:
    try:
        return old_uuid_list_check(order_id=options.order.pk, key=old_uuids.key)
    except DeliveryError:
        return None


@require_GET
@manufacturer_required  # type: ignore[arg-type]
def old_uuid_problems_view(request: PortalRequest, number: str, key: str) -> StreamingHttpResponse:
    """Every problem of a checked list as CSV (the page shows the first 100). Another
    manufacturer's order is a 404; a key that is not this order's list, "no longer available"."""
    order = _own_order(request, number)
    try:
        old_uuid_list_check(order_id=order.pk, key=key)
    except DeliveryError as exc:
        raise Http404(exc.message) from exc
    response = StreamingHttpResponse(
        old_uuid_problems_csv(order_id=order.pk, key=key), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{order.number}-old-uuid-problems.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _abuse_limited[R](
    action: str, *, counts: Callable[[R], bool]
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Count ``action`` against the request's user and manufacturer (``settings.RATE_LIMITS``,
    through ``accounts.ratelimit.rate_limit_attempt``) around the step; over a limit
    ``AccountError`` is raised and the step does not run. What is not an attempt is given back:
    a step that raises (input the rules refused) and a result ``counts`` says no to (a replay).
    Only input that parsed reaches the step, so typing slips are free."""

    def decorator(step: Callable[..., R]) -> Callable[..., R]:
        @wraps(step)
        def limited(request: PortalRequest, *args: Any, **kwargs: Any) -> R:
            with rate_limit_attempt(
                action=action, manufacturer=request.manufacturer, user=request.user, request=request
            ) as attempt:
                result = step(request, *args, **kwargs)
                if not counts(result):
                    attempt.refund()
                return result

        return limited

    return decorator


def _created(result: TakeResult) -> bool:
    return result.created


@_abuse_limited("delivery.take", counts=_created)
def _take(
    request: PortalRequest,
    order: PurchaseOrder,
    *,
    product: int,
    quantity: int,
    idempotency_key: uuid.UUID,
    old_uuids: OldUuidList | None = None,
) -> TakeResult:
    return new_delivery_take(
        order_id=order.pk,
        product_id=product,
        quantity=quantity,
        user=request.user,
        idempotency_key=idempotency_key,
        request=request,
        old_uuids=old_uuids,
    )


def _blank_form(
    options: NewDeliveryOptions, *, initial_product: int | None = None
) -> NewDeliveryForm:
    return NewDeliveryForm(
        products=_products(options), available=options.available, initial_product=initial_product
    )


def _products(options: NewDeliveryOptions) -> list[Any]:
    return [eligible.product for eligible in options.products]


def _take_page(
    request: PortalRequest,
    options: NewDeliveryOptions,
    *,
    form: NewDeliveryForm,
    renew_key: bool = False,
    taken_message: str = "",
    list_form: OldUuidListForm | None = None,
    check: ListCheck | None = None,
    targeted_form: TargetedTakeForm | None = None,
) -> HttpResponse:
    if renew_key or form.has_error("idempotency_key"):
        form.renew_key()
    context: dict[str, Any] = {"order": options.order, "options": options, "form": form}
    context["taken_message"] = taken_message
    context["list_form"] = list_form or OldUuidListForm()
    context["list_unsupported"] = old_uuid_lists_unsupported()
    context["check"] = check
    if check is not None and targeted_form is None:
        targeted_form = TargetedTakeForm(
            products=_products(options),
            initial={
                "list_key": check.key,
                "quantity": check.valid,
                "valid_only": bool(check.problem_count),
            },
        )
    context["targeted_form"] = targeted_form
    context["original_files"] = original_token_files(order=options.order)
    return render_page(request, INITIATE, context, partial="take")


@manufacturer_required
def void_new_delivery_view(request: PortalRequest, delivery_id: int) -> HttpResponse:
    """Void one of the manufacturer's new deliveries (POST; another's is a 404, also to GET).

    Replay-safe: the service refuses a delivery already voided, so a resubmitted form voids
    once and the second answer says it was already done. POST/redirect/GET to the order's list.
    """
    delivery = get_object_or_404(
        NewDelivery.objects.select_related("order"),
        pk=delivery_id,
        order__manufacturer=request.manufacturer,
    )
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = VoidForm(request.POST)
    if not form.is_valid():
        messages.error(request, DeliveryError("void_reason_missing").message)
    else:
        try:
            new_delivery_void(
                delivery_id=delivery.pk,
                user=request.user,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except DeliveryError as exc:
            if exc.code == "already_voided":
                messages.info(request, exc.message)
            else:
                messages.error(request, exc.message)
        else:
            messages.success(
                request,
                ngettext(
                    "%(number)s is voided: its %(quantity)s token is revoked and available "
                    "again on order %(order)s.",
                    "%(number)s is voided: its %(quantity)s tokens are revoked and available "
                    "again on order %(order)s.",
                    delivery.quantity,
                )
                % {
                    "number": delivery.number,
                    "quantity": delivery.quantity,
                    "order": delivery.order.number,
                },
            )
    return redirect("deliveries:order_delivery_list", number=delivery.order.number)
