from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import PortalRequest, manufacturer_required
from accounts.ratelimit import rate_limit_attempt
from deliveries.errors import DeliveryError
from deliveries.exports import NEW_DELIVERY_COLUMNS
from deliveries.forms import NewDeliveryFilterForm, NewDeliveryForm, VoidForm
from deliveries.models import NewDelivery
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
    listing = paginate(request, deliveries, per_page=settings.NEW_DELIVERIES_PER_PAGE)
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
) -> TakeResult:
    return new_delivery_take(
        order_id=order.pk,
        product_id=product,
        quantity=quantity,
        user=request.user,
        idempotency_key=idempotency_key,
        request=request,
    )


def _blank_form(
    options: NewDeliveryOptions, *, initial_product: int | None = None
) -> NewDeliveryForm:
    products = [eligible.product for eligible in options.products]
    return NewDeliveryForm(
        products=products, available=options.available, initial_product=initial_product
    )


def _take_page(
    request: PortalRequest,
    options: NewDeliveryOptions,
    *,
    form: NewDeliveryForm,
    renew_key: bool = False,
    taken_message: str = "",
) -> HttpResponse:
    if renew_key or form.has_error("idempotency_key"):
        form.renew_key()
    context = {"order": options.order, "options": options, "form": form}
    context["taken_message"] = taken_message
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
                _(
                    "%(number)s is voided: its %(quantity)s tokens are revoked and available "
                    "again on order %(order)s."
                )
                % {
                    "number": delivery.number,
                    "quantity": delivery.quantity,
                    "order": delivery.order.number,
                },
            )
    return redirect("deliveries:order_delivery_list", number=delivery.order.number)
