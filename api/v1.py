"""Version 1 of the public API (django-ninja): thin views over the portal's services and
selectors, so every rule, refusal and audit event is the portal's.

Each operation names the one scope it needs (``KeyAuth(scope)``): no key is 401, a key without
the scope 403, another manufacturer's object 404, and every refusal is RFC 9457 problem details
in the ``Accept-Language`` language.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Header, NinjaAPI, Path, Query, Router, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.docs import Swagger
from ninja.security import HttpBearer

from accounts.errors import AccountError
from accounts.ratelimit import rate_limit_attempt, rate_limit_consume
from api import downloads
from api.errors import ApiError
from api.limits import api_limit_consume
from api.models import ApiKey
from api.pagination import cursor_page
from api.problems import problem_response
from api.schemas import (
    NO_NUL,
    DeliveryOut,
    DeliveryPage,
    OrderDetailOut,
    OrderPage,
    Problem,
    ReplyIn,
    RevokedTokenPage,
    TakeIn,
    TakenOut,
    WorkOrderDetailOut,
    WorkOrderIn,
    WorkOrderPage,
    choices_pattern,
)
from api.selectors import take_options
from api.services import api_key_authenticate
from deliveries.errors import DeliveryError
from deliveries.models import NewDelivery
from deliveries.selectors import new_delivery_list
from deliveries.services import new_delivery_take
from orders.models import Product, PurchaseOrder
from orders.selectors import purchase_order_list
from refurb_portal.errors import DomainError
from tokens.errors import TokenFileError
from tokens.lookup_forms import day_range_check
from tokens.lookup_services import revocation_list_record
from tokens.models import Token, TokenFile
from tokens.selectors import revocation_list as revocation_list_selector
from workorders.errors import WorkOrderError
from workorders.models import WorkOrder
from workorders.selectors import work_order_conversation, work_order_for_manufacturer
from workorders.selectors import work_order_list as work_order_list_selector
from workorders.services import work_order_reply, work_order_submit
from workorders.transitions import Side

Scope = ApiKey.Scope
# Idempotency-Key values become the services' UUID keys within this namespace, per API key.
IDEMPOTENCY_NAMESPACE = uuid.UUID("0b1f8f2e-5a54-4c1e-9d7c-6f0c2f1a7e31")
NUMBER_PATTERN = r"^[A-Za-z0-9._-]{1,40}$"
MAX_ID = 2**63 - 1


# The API answers a refusal with its error's own status, except that plain bad input (400 on a
# page) is 422 here, a row busy elsewhere is 409 whichever app it is in, and a voided delivery's
# file is 410 Gone: unlike "not ready yet" (409), asking again will never fetch it.
def _status(exc: DomainError) -> int:
    if exc.code == "busy":
        return 409
    if isinstance(exc, TokenFileError) and exc.code == "voided":
        return 410
    return 422 if exc.status == 400 else exc.status


# Retry-After (seconds) of a 409, 429 or 503 whose error names none: an archived file is made
# again from its tokens, which takes a while (tokens.retention); the rest may be retried at once.
RETRY_AFTER = {"archived": 60}


class KeyAuth(HttpBearer):
    """``Authorization: Bearer rpk_...``: an active key holding ``scope``, within its limit."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        api_key = api_key_authenticate(presented=token)
        if api_key is None:
            return None
        state = api_limit_consume(key_id=api_key.pk)
        request.api_limit = state  # type: ignore[attr-defined]
        if state is not None and not state.allowed:
            raise ApiError("rate_limited", seconds=state.reset)
        if self.scope not in api_key.scopes:
            raise ApiError("scope_missing", scope=dict(Scope.choices)[self.scope])
        request.api_key = api_key  # type: ignore[attr-defined]
        return api_key


class PortalApi(NinjaAPI):
    """Documents every refusal as ``application/problem+json`` (ninja says application/json)."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        for path in schema["paths"].values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        response["content"] = {
                            "application/problem+json": content.pop("application/json")
                        }
        return schema


api = PortalApi(
    title="Refurb Portal API",
    version="1",
    description=(
        "Take new deliveries of tokens, follow their files and download them, and follow "
        "work orders, from a factory's own systems. Authenticate with "
        "`Authorization: Bearer <key>`; keys are made under API keys in the portal. "
        "Refusals are RFC 9457 problem details in the Accept-Language language. Every "
        "response carries RateLimit and RateLimit-Policy headers; past the limit, 429 with "
        "Retry-After."
    ),
    urls_namespace="api_v1",
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_url="/docs",
)


def _problem_for(exc: DomainError, status: int) -> HttpResponse:
    headers = {}
    if status in {409, 429, 503}:
        headers["Retry-After"] = str(exc.params.get("seconds", RETRY_AFTER.get(exc.code, 1)))
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return problem_response(status=status, code=exc.code, detail=exc.message, headers=headers)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = _problem_for(exc, exc.status)
    if exc.code == "range_not_satisfiable":
        response["Content-Range"] = f"bytes */{exc.params['size']}"
    if exc.code == "rate_limited" and getattr(request, "api_limit", None) is not None:
        for name, value in request.api_limit.headers().items():  # type: ignore[attr-defined]
            response[name] = value
    return response


@api.exception_handler(AccountError)
def _account_error(request: HttpRequest, exc: AccountError) -> HttpResponse:
    # The portal's abuse limits (per manufacturer) are the only AccountError on this path.
    return _problem_for(exc, 429)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _problem_for(exc, _status(exc))


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _problem_for(ApiError("unauthorized"), 401)


@api.exception_handler(HttpError)
def _unparsable(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # django-ninja raises it (400) for a body that is not JSON; nothing else here raises it.
    return _problem_for(ApiError("body_not_json"), 400)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _problem_for(ApiError("not_found"), 404)


# Each kind of pydantic error in the portal's words and the asked language (pydantic's own are
# English and name its internals); its ``type`` stays in the problem for programs.
VALIDATION_MESSAGES: dict[str, Any] = {
    "missing": gettext_lazy("This value is required."),
    "int_type": gettext_lazy(
        "Enter a whole number (a JSON integer, not text, a fraction or true/false)."
    ),
    "int_parsing": gettext_lazy("Enter a whole number, for example 250."),
    "int_from_float": gettext_lazy("Enter a whole number, for example 250."),
    "string_type": gettext_lazy("Enter text (a JSON string)."),
    "string_too_long": gettext_lazy("Use at most %(max_length)s characters."),
    "string_pattern_mismatch": gettext_lazy("This text holds a character that is not allowed."),
    "literal_error": gettext_lazy("Choose one of: %(expected)s."),
    "model_attributes_type": gettext_lazy("Send a JSON object."),
    "model_type": gettext_lazy("Send a JSON object."),
    "dict_type": gettext_lazy("Send a JSON object."),
    "date_from_datetime_parsing": gettext_lazy("Enter a date as YYYY-MM-DD."),
    "date_parsing": gettext_lazy("Enter a date as YYYY-MM-DD."),
    "date_type": gettext_lazy("Enter a date as YYYY-MM-DD."),
    "greater_than_equal": gettext_lazy("Enter a number of at least %(ge)s."),
    "less_than_equal": gettext_lazy("Enter a number of at most %(le)s."),
}


def _validation_message(error: dict[str, Any]) -> str:
    """One pydantic error (``ValidationError.errors()``'s item) as the portal says it."""
    template = VALIDATION_MESSAGES.get(str(error.get("type", "")))
    if template is None:
        return str(_("This value is not valid."))
    try:
        return str(template) % {key: str(value) for key, value in (error.get("ctx") or {}).items()}
    except (KeyError, TypeError, ValueError):
        return str(_("This value is not valid."))


def _where(error: dict[str, Any]) -> list[str]:
    """Where the error is, as the client sent it: ``["body", "quantity"]``, without the name of
    the view's body parameter (``payload``) that django-ninja puts after ``body``."""
    loc = [str(part) for part in error.get("loc", ())]
    return [loc[0], *loc[2:]] if loc[:1] == ["body"] and len(loc) > 2 else loc


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {
            "loc": _where(error),
            "msg": _validation_message(error),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors
    ]
    detail = "; ".join(f"{'.'.join(e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in errors[:5])
    error = ApiError("invalid_request", detail=detail)
    return problem_response(status=422, code=error.code, detail=error.message, errors=errors)


def not_found_view(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other URL under the API: a problem, not the portal's HTML page."""
    return _problem_for(ApiError("not_found"), 404)


def _responses(ok: dict[int, Any], *refusals: int) -> dict[int, Any]:
    # Every operation can meet these: a malformed request (NUL bytes, overlong values: the
    # request-edge middleware), no or bad key, missing scope, too large a body, bad input, the
    # limit, and an error on our side (api.problems.server_error).
    codes = {400, 401, 403, 413, 422, 429, 500, *refusals}
    return {**ok, **dict.fromkeys(sorted(codes), Problem)}


def _key(request: HttpRequest) -> ApiKey:
    return request.api_key  # type: ignore[attr-defined]


def _idempotency_uuid(request: HttpRequest, header: str | None) -> uuid.UUID:
    if header is None:
        return uuid.uuid4()
    if not 1 <= len(header) <= 255 or not header.isascii() or not header.isprintable():
        raise ApiError("idempotency_key_invalid")
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{_key(request).pk}:{header}")


# --- Orders -----------------------------------------------------------------------------------
orders = Router(tags=["Orders"])


def _product(product: Product) -> dict[str, str]:
    return {"product_id": product.product_id, "name": product.name}


def _order(order: PurchaseOrder) -> dict[str, Any]:
    return {
        "number": order.number,
        "contract_number": order.contract_number,
        "order_type": order.order_type,
        "status": order.status,
        "module": order.module.code if order.module else None,
        "products": [_product(p) for p in order.products.all()],
        "ordered": order.quantity_ordered,
        "delivered": order.quantity_delivered,
        "new_tokens_delivered": order.new_tokens_delivered,
        "available": order.available_new_tokens,
        "created_at": order.created_at,
    }


def _own_order(request: HttpRequest, number: str) -> PurchaseOrder:
    return get_object_or_404(
        PurchaseOrder.objects.select_related("module").prefetch_related("products"),
        number=number,
        manufacturer=_key(request).manufacturer,
    )


@orders.get(
    "/orders",
    operation_id="listOrders",
    openapi_extra={
        "responses": {
            200: {
                "links": {
                    "GetFirstOrder": {
                        "operationId": "getOrder",
                        "parameters": {"number": "$response.body#/items/0/number"},
                    },
                    "ListFirstOrderDeliveries": {
                        "operationId": "listOrderDeliveries",
                        "parameters": {"number": "$response.body#/items/0/number"},
                    },
                }
            }
        }
    },
    response=_responses({200: OrderPage}),
    auth=KeyAuth(Scope.READ),
    summary="List purchase orders",
    description="The manufacturer's orders, newest first, with the portal's filters; "
    "cursor pagination (pass next_cursor back as cursor).",
)
def order_list(
    request: HttpRequest,
    search: str = Query(
        "", max_length=100, pattern=NO_NUL, description="Order, contract or product."
    ),
    order_type: str = Query("", pattern=choices_pattern(PurchaseOrder.OrderType)),
    status: str = Query("", pattern=choices_pattern(PurchaseOrder.Status)),
    cursor: str | None = Query(None, max_length=200, pattern=NO_NUL),
    limit: int = Query(25, ge=1, le=100),
) -> dict[str, Any]:
    qs = purchase_order_list(
        manufacturer=_key(request).manufacturer,
        search=search,
        order_type=order_type,
        status=status,
    )
    rows, next_cursor = cursor_page(qs, cursor=cursor, limit=limit)
    return {"items": [_order(o) for o in rows], "next_cursor": next_cursor}


@orders.get(
    "/orders/{number}",
    operation_id="getOrder",
    openapi_extra={
        "responses": {
            200: {
                "links": {
                    "TakeDelivery": {
                        "operationId": "takeDelivery",
                        "parameters": {"number": "$response.body#/number"},
                        "requestBody": {
                            "product_id": "$response.body#/eligible_products/0/product_id",
                            "quantity": 1,
                        },
                    },
                    "ListOrderDeliveries": {
                        "operationId": "listOrderDeliveries",
                        "parameters": {"number": "$response.body#/number"},
                    },
                }
            }
        }
    },
    response=_responses({200: OrderDetailOut}, 404),
    auth=KeyAuth(Scope.READ),
    summary="Show a purchase order",
    description="The order with its available new tokens, how that count is reached, and the "
    "products a new delivery may be taken for.",
)
def order_detail(
    request: HttpRequest, number: str = Path(..., pattern=NUMBER_PATTERN)
) -> dict[str, Any]:
    order = _own_order(request, number)
    options = take_options(order=order)
    a = options.explanation
    return {
        **_order(order),
        "availability": {
            "ordered": a.ordered,
            "delivered": a.delivered,
            "original_delivery_count": a.original_delivery_count,
            "new_tokens_delivered": a.new_tokens_delivered,
            "new_delivery_count": a.new_delivery_count,
            "available": a.available,
            "undelivered": a.undelivered,
            "explanation": " ".join(options.explanation_lines),
        },
        "can_take": options.can_take,
        "eligible_products": [_product(e.product) for e in options.products],
    }


# --- New deliveries ---------------------------------------------------------------------------
deliveries = Router(tags=["New deliveries"])


def _file(request: HttpRequest, delivery: NewDelivery) -> dict[str, Any] | None:
    token_file: TokenFile | None = getattr(delivery, "file", None)
    if token_file is None:
        return None
    ready = token_file.status == TokenFile.Status.READY
    return {
        "status": token_file.status,
        "done": token_file.done,
        "total": token_file.total,
        "progress": round(token_file.done / token_file.total, 4) if token_file.total else 1.0,
        "rows": token_file.row_count,
        "size_bytes": token_file.size_bytes,
        "sha256": token_file.sha256 or None,
        "download_url": reverse("api_v1:delivery_file", kwargs={"delivery_id": delivery.pk})
        if ready
        else None,
    }


def _taken(delivery: NewDelivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "order": delivery.order.number,
        "number": delivery.number,
        "product": _product(delivery.product),
        "quantity": delivery.quantity,
        "taken_at": delivery.taken_at,
        "taken_by": delivery.taken_by.get_username(),
    }


def _delivery(request: HttpRequest, delivery: NewDelivery) -> dict[str, Any]:
    return {**_taken(delivery), "file": _file(request, delivery)}


def _own_delivery(request: HttpRequest, delivery_id: int) -> NewDelivery:
    return get_object_or_404(
        new_delivery_list(manufacturer=_key(request).manufacturer), pk=delivery_id
    )


@deliveries.get(
    "/deliveries",
    operation_id="listDeliveries",
    openapi_extra={
        "responses": {
            200: {
                "links": {
                    "GetFirstDelivery": {
                        "operationId": "getDelivery",
                        "parameters": {"delivery_id": "$response.body#/items/0/id"},
                    }
                }
            }
        }
    },
    response=_responses({200: DeliveryPage}),
    auth=KeyAuth(Scope.READ),
    summary="List new deliveries",
    description="New delivery list of Token across all orders, newest first.",
)
def delivery_list(
    request: HttpRequest,
    cursor: str | None = Query(None, max_length=200, pattern=NO_NUL),
    limit: int = Query(25, ge=1, le=100),
) -> dict[str, Any]:
    qs = new_delivery_list(manufacturer=_key(request).manufacturer)
    rows, next_cursor = cursor_page(qs, cursor=cursor, limit=limit, field="taken_at")
    return {"items": [_delivery(request, d) for d in rows], "next_cursor": next_cursor}


@deliveries.get(
    "/orders/{number}/deliveries",
    operation_id="listOrderDeliveries",
    response=_responses({200: DeliveryPage}, 404),
    auth=KeyAuth(Scope.READ),
    summary="List an order's new deliveries",
)
def order_delivery_list(
    request: HttpRequest,
    number: str = Path(..., pattern=NUMBER_PATTERN),
    cursor: str | None = Query(None, max_length=200, pattern=NO_NUL),
    limit: int = Query(25, ge=1, le=100),
) -> dict[str, Any]:
    order = _own_order(request, number)
    qs = new_delivery_list(manufacturer=_key(request).manufacturer, order=order)
    rows, next_cursor = cursor_page(qs, cursor=cursor, limit=limit, field="taken_at")
    return {"items": [_delivery(request, d) for d in rows], "next_cursor": next_cursor}


@deliveries.post(
    "/orders/{number}/deliveries",
    operation_id="takeDelivery",
    openapi_extra={
        "responses": {
            201: {
                "links": {
                    "GetDelivery": {
                        "operationId": "getDelivery",
                        "parameters": {"delivery_id": "$response.body#/id"},
                    },
                    "DownloadFile": {
                        "operationId": "downloadDeliveryFile",
                        "parameters": {"delivery_id": "$response.body#/id"},
                    },
                }
            }
        }
    },
    response=_responses({201: TakenOut}, 400, 404, 409),
    auth=KeyAuth(Scope.TAKE),
    summary="Take a new delivery",
    description="Takes `quantity` new tokens of an eligible product (R3, R6, R7, R9). Send an "
    "Idempotency-Key: the same key with the same body answers the first delivery again "
    "(header Idempotent-Replayed: true) and takes nothing; the same key with a different body "
    "is 422. The token file is made in the background: follow the delivery's file.",
)
def delivery_take(
    request: HttpRequest,
    payload: TakeIn,
    number: str = Path(..., pattern=NUMBER_PATTERN),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> HttpResponse:
    api_key = _key(request)
    order = _own_order(request, number)
    key = _idempotency_uuid(request, idempotency_key)
    product_pk = (
        Product.objects.filter(product_id=payload.product_id, manufacturer=api_key.manufacturer)
        .values_list("pk", flat=True)
        .first()
    )
    # The portal's abuse limit, counted as the portal counts it: a refused take and a replay
    # are given back (accounts.ratelimit).
    try:
        with rate_limit_attempt(
            action="delivery.take",
            manufacturer=api_key.manufacturer,
            user=api_key.created_by,
            request=request,
        ) as attempt:
            result = new_delivery_take(
                order_id=order.pk,
                # An unknown product is refused by the service's own rule (R6/R7), audited there.
                product_id=product_pk or 0,
                quantity=payload.quantity,
                user=api_key.created_by,
                idempotency_key=key,
                request=request,
            )
            if not result.created:
                attempt.refund()
    except DeliveryError as exc:
        if exc.code == "key_reused":
            raise ApiError("idempotency_key_reused") from exc
        raise
    body = TakenOut(**_taken(result.delivery)).model_dump_json()
    response = HttpResponse(body, status=201, content_type="application/json; charset=utf-8")
    response["Location"] = reverse("api_v1:delivery_detail", args=[result.delivery.pk])
    if not result.created:
        response["Idempotent-Replayed"] = "true"
    return response


@deliveries.get(
    "/deliveries/{delivery_id}",
    operation_id="getDelivery",
    openapi_extra={
        "responses": {
            200: {
                "links": {
                    "DownloadFile": {
                        "operationId": "downloadDeliveryFile",
                        "parameters": {"delivery_id": "$response.body#/id"},
                    }
                }
            }
        }
    },
    response=_responses({200: DeliveryOut}, 404),
    auth=KeyAuth(Scope.READ),
    summary="Show a new delivery",
    description="The delivery with its token file's state and progress.",
)
def delivery_detail(
    request: HttpRequest, delivery_id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    return _delivery(request, _own_delivery(request, delivery_id))


# Why a file that is not READY is not served (as the portal's download says, tokens.views);
# pending and generating files are not ready yet.
UNSERVED = {TokenFile.Status.FAILED: "failed", TokenFile.Status.VOIDED: "voided"}


@deliveries.get(
    "/deliveries/{delivery_id}/file",
    operation_id="downloadDeliveryFile",
    response=_responses({200: None, 206: None}, 404, 409, 410, 416, 503),
    auth=KeyAuth(Scope.DOWNLOAD),
    summary="Download a delivery's token file",
    description="Streams the file once it is ready, with Repr-Digest (and Content-Digest on a "
    "whole answer) giving its SHA-256 (RFC 9530). Range requests resume a download; only a "
    "download from the first byte is recorded as one. A file not ready yet (not_ready) or "
    "archived and being made again (archived) is 409 with Retry-After; a failed file is 409 "
    "(failed); a voided delivery's file is 410 (voided): it will never be available.",
    openapi_extra={
        "responses": {
            200: {
                "description": "The whole file",
                "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
            },
            206: {
                "description": "The requested range",
                "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
            },
        }
    },
)
def delivery_file(
    request: HttpRequest, delivery_id: int = Path(..., ge=1, le=MAX_ID)
) -> HttpResponseBase:
    api_key = _key(request)
    delivery = _own_delivery(request, delivery_id)
    token_file: TokenFile | None = getattr(delivery, "file", None)
    if token_file is None:
        raise Http404
    if token_file.status != TokenFile.Status.READY:
        raise TokenFileError(UNSERVED.get(TokenFile.Status(token_file.status), "not_ready"))
    rate_limit_consume(
        action="tokens.download",
        manufacturer=api_key.manufacturer,
        user=api_key.created_by,
        request=request,
    )
    return downloads.token_file_stream(
        request=request, token_file=token_file, user=api_key.created_by
    )


# --- Work orders ------------------------------------------------------------------------------
work_orders = Router(tags=["Work orders"])


def _work_order(work_order: WorkOrder) -> dict[str, Any]:
    return {
        "id": work_order.pk,
        "type": work_order.type,
        "status": work_order.status,
        "status_label": str(work_order.get_status_display()),
        "order": work_order.order.number if work_order.order else None,
        "description": work_order.description,
        "contact": work_order.contact,
        "created_at": work_order.created_at,
        "status_changed_at": work_order.status_changed_at,
        "tool_available": work_order.has_tool,
    }


def _work_order_detail(work_order: WorkOrder) -> dict[str, Any]:
    return {
        **_work_order(work_order),
        "messages": [
            {
                "from_staff": entry.from_staff,
                "author": _("Support") if entry.from_staff else entry.author.get_username(),
                "body": entry.body,
                "created_at": entry.created_at,
            }
            for entry in work_order_conversation(work_order=work_order)
        ],
    }


def _own_work_order(request: HttpRequest, work_order_id: int) -> WorkOrder:
    work_order = work_order_for_manufacturer(
        manufacturer=_key(request).manufacturer, pk=work_order_id
    )
    if work_order is None:
        raise Http404
    return work_order


@work_orders.get(
    "/work-orders",
    operation_id="listWorkOrders",
    openapi_extra={
        "responses": {
            200: {
                "links": {
                    "GetFirstWorkOrder": {
                        "operationId": "getWorkOrder",
                        "parameters": {"work_order_id": "$response.body#/items/0/id"},
                    }
                }
            }
        }
    },
    response=_responses({200: WorkOrderPage}),
    auth=KeyAuth(Scope.WORK_ORDERS),
    summary="List work orders",
)
def work_order_list(
    request: HttpRequest,
    status: str = Query("", max_length=24, pattern=r"^[a-z_]*$"),
    cursor: str | None = Query(None, max_length=200, pattern=NO_NUL),
    limit: int = Query(25, ge=1, le=100),
) -> dict[str, Any]:
    qs = work_order_list_selector(manufacturer=_key(request).manufacturer, status=status)
    rows, next_cursor = cursor_page(qs, cursor=cursor, limit=limit)
    return {"items": [_work_order(w) for w in rows], "next_cursor": next_cursor}


@work_orders.post(
    "/work-orders",
    operation_id="createWorkOrder",
    openapi_extra={
        "responses": {
            201: {
                "links": {
                    "GetWorkOrder": {
                        "operationId": "getWorkOrder",
                        "parameters": {"work_order_id": "$response.body#/id"},
                    },
                    "ReplyToWorkOrder": {
                        "operationId": "replyToWorkOrder",
                        "parameters": {"work_order_id": "$response.body#/id"},
                    },
                }
            }
        }
    },
    response=_responses({201: WorkOrderDetailOut}, 400),
    auth=KeyAuth(Scope.WORK_ORDERS),
    summary="Submit a work order",
    description="For example a request for the refurbishment tool. An Idempotency-Key makes a "
    "resent request answer the first work order instead of making a second.",
)
def work_order_create(
    request: HttpRequest,
    payload: WorkOrderIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status:
    api_key = _key(request)
    order = None
    if payload.order:
        order = PurchaseOrder.objects.filter(
            number=payload.order, manufacturer=api_key.manufacturer
        ).first()
        if order is None:
            raise WorkOrderError("order_not_own")
    result = work_order_submit(
        user=api_key.created_by,
        work_order_type=payload.type,
        order=order,
        description=payload.description,
        contact=payload.contact,
        submission_key=_idempotency_uuid(request, idempotency_key),
        request=request,
    )
    return Status(201, _work_order_detail(result.work_order))


@work_orders.get(
    "/work-orders/{work_order_id}",
    operation_id="getWorkOrder",
    openapi_extra={
        "responses": {
            200: {
                "links": {
                    "ReplyToWorkOrder": {
                        "operationId": "replyToWorkOrder",
                        "parameters": {"work_order_id": "$response.body#/id"},
                    }
                }
            }
        }
    },
    response=_responses({200: WorkOrderDetailOut}, 404),
    auth=KeyAuth(Scope.WORK_ORDERS),
    summary="Show a work order",
    description="Its status and the conversation with staff.",
)
def work_order_detail(
    request: HttpRequest, work_order_id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    return _work_order_detail(_own_work_order(request, work_order_id))


@work_orders.post(
    "/work-orders/{work_order_id}/replies",
    operation_id="replyToWorkOrder",
    response=_responses({201: WorkOrderDetailOut}, 400, 404, 409),
    auth=KeyAuth(Scope.WORK_ORDERS),
    summary="Reply to a work order",
)
def work_order_reply_create(
    request: HttpRequest, payload: ReplyIn, work_order_id: int = Path(..., ge=1, le=MAX_ID)
) -> Status:
    work_order = _own_work_order(request, work_order_id)
    work_order_reply(
        work_order_id=work_order.pk,
        user=_key(request).created_by,
        side=Side.MANUFACTURER,
        body=payload.body,
        request=request,
    )
    work_order = _own_work_order(request, work_order_id)
    return Status(201, _work_order_detail(work_order))


# --- Revocation list --------------------------------------------------------------------------
revocations = Router(tags=["Tokens"])
REVOCATIONS_MAX_LIMIT = 1000
# Named ``from`` and ``to`` in the URL (``from`` is a Python keyword).
FIRST_DAY = Query(..., alias="from", description="First day (YYYY-MM-DD, UTC).")
LAST_DAY = Query(..., alias="to", description="Last day (YYYY-MM-DD, UTC).")


def _revoked(token: Token) -> dict[str, Any]:
    replaced_by = getattr(token, "replaced_by", None)
    return {
        "uuid": token.uuid,
        "status": token.status,
        "retired_at": token.retired_at,
        "order": token.order.number,
        "product_id": token.product.product_id,
        "replaced_by": replaced_by.uuid if replaced_by is not None else None,
    }


@revocations.get(
    "/revocations",
    operation_id="listRevocations",
    response=_responses({200: RevokedTokenPage}),
    auth=KeyAuth(Scope.READ),
    summary="List replaced and revoked token UUIDs",
    description="The manufacturer's tokens replaced or revoked from the day `from` to the day "
    "`to` (both included, UTC; at most 366 days), for a cloud service to refuse their old "
    "credentials. Newest first; cursor pagination (pass next_cursor back as cursor), up to "
    "1,000 a page.",
)
def revocation_list(
    request: HttpRequest,
    date_from: dt.date = FIRST_DAY,
    date_to: dt.date = LAST_DAY,
    cursor: str | None = Query(None, max_length=200, pattern=NO_NUL),
    limit: int = Query(1000, ge=1, le=REVOCATIONS_MAX_LIMIT),
) -> dict[str, Any]:
    try:
        days = day_range_check(date_from, date_to)
    except forms.ValidationError as exc:
        raise ApiError("invalid_request", detail=" ".join(exc.messages)) from None
    api_key = _key(request)
    qs = (
        revocation_list_selector(
            manufacturer_id=api_key.manufacturer_id, start=days.start, end=days.end
        )
        .select_related("order", "product", "replaced_by")
        .defer("auth_key", "replaced_by__auth_key")
    )
    rows, next_cursor = cursor_page(
        qs, cursor=cursor, limit=limit, field="retired_at", max_limit=REVOCATIONS_MAX_LIMIT
    )
    if cursor is None:
        # One event a listing, not a page: a long list is read in many.
        revocation_list_record(
            user=api_key.created_by,
            request=request,
            first=days.first,
            last=days.last,
            file_format="json",
            channel="api",
        )
    return {"items": [_revoked(t) for t in rows], "next_cursor": next_cursor}


api.add_router("", orders)
api.add_router("", deliveries)
api.add_router("", work_orders)
api.add_router("", revocations)
