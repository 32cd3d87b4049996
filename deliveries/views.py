from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts.access import PortalRequest, manufacturer_required
from accounts.errors import AccountError
from accounts.ratelimit import rate_limit_attempt
from deliveries.errors import DeliveryError
from deliveries.forms import NewDeliveryForm
from deliveries.selectors import eligible_products_for_order
from deliveries.services import TakeResult, new_delivery_take
from orders.models import PurchaseOrder
from orders.selectors import is_eligible_for_new_delivery, order_availability

TAKE_FIELDS = ("product", "quantity", "idempotency_key")


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@manufacturer_required
def initiate_new_delivery_view(request: PortalRequest, number: str) -> HttpResponse:
    """Initiate new delivery: GET shows the form, POST takes the delivery.

    With HTMX the POST answers with the form and availability part and a success message for
    the page's live region; without JavaScript it redirects back (POST/redirect/GET).
    """
    order = get_object_or_404(
        PurchaseOrder.objects.select_related("module"),
        number=number,
        manufacturer=request.manufacturer,
    )
    if request.method == "GET":
        if any(name in request.GET for name in TAKE_FIELDS):
            # Taking delivery changes data: only a POST carrying the CSRF token may do it.
            return HttpResponseNotAllowed(["POST"])
        return _render(request, order)

    available = order_availability(order_id=order.pk).available
    form = NewDeliveryForm(
        request.POST, products=eligible_products_for_order(order=order), available=available
    )
    if not form.is_valid():
        if form.has_error("idempotency_key"):
            form.renew_key()
        return _render(request, order, form=form)
    try:
        # The abuse limits (settings.RATE_LIMITS): over one, a message and nothing taken. A
        # replay or a refusal of the rules (an exception out of the block) is not an attempt.
        with rate_limit_attempt(
            action="delivery.take",
            manufacturer=request.manufacturer,
            user=request.user,
            request=request,
        ) as attempt:
            result = new_delivery_take(
                order_id=order.pk,
                product_id=form.cleaned_data["product"],
                quantity=form.cleaned_data["quantity"],
                user=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
                request=request,
            )
            if not result.created:
                attempt.refund()
    except AccountError as exc:
        form.add_error(None, exc.message)
        return _render(request, order, form=form)
    except DeliveryError as exc:
        form.add_error(exc.field, exc.message)
        if exc.code == "key_reused":
            form.renew_key()
        return _render(request, order, form=form)
    message = _taken_message(result, order)
    if not request.htmx:
        messages.success(request, message)
        return redirect("deliveries:initiate", number=order.number)
    return _render(
        request, order, taken_message=message, initial_product=result.delivery.product_id
    )


def _render(
    request: PortalRequest,
    order: PurchaseOrder,
    *,
    form: NewDeliveryForm | None = None,
    taken_message: str = "",
    initial_product: int | None = None,
) -> HttpResponse:
    availability = order_availability(order_id=order.pk)
    products = list(eligible_products_for_order(order=order))
    can_take = is_eligible_for_new_delivery(order) and availability.available > 0 and bool(products)
    if form is None:
        form = NewDeliveryForm(
            products=products, available=availability.available, initial_product=initial_product
        )
    context = {
        "order": order,
        "availability": availability,
        "can_take": can_take,
        "has_products": bool(products),
        "form": form,
        "taken_message": taken_message,
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "deliveries/initiate.html#take", context)
    return render(request, "deliveries/initiate.html", context)


def _taken_message(result: TakeResult, order: PurchaseOrder) -> SafeString:
    delivery = result.delivery
    params = {
        "number": delivery.number,
        "quantity": delivery.quantity,
        "product": delivery.product.name,
    }
    if result.created:
        text = ngettext(
            "Delivery %(number)s taken: %(quantity)s new token for %(product)s. "
            "Its token file is being made.",
            "Delivery %(number)s taken: %(quantity)s new tokens for %(product)s. "
            "Their token file is being made.",
            delivery.quantity,
        )
    else:
        text = ngettext(
            "This form was already submitted: delivery %(number)s of %(quantity)s new token "
            "for %(product)s was taken then, and no second one.",
            "This form was already submitted: delivery %(number)s of %(quantity)s new tokens "
            "for %(product)s was taken then, and no second one.",
            delivery.quantity,
        )
    return format_html(
        '{} <a href="{}">{}</a>',
        text % params,
        reverse("tokens:order_delivery_list", args=[order.number]),
        _("New delivery list of Token"),
    )
