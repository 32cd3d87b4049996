"""The one way a portal page is paginated and answered: the full page, or its HTMX partial.

Learned from django-htmx's example project (``render(request, "page.html#partial")`` when
``request.htmx``), with the two cases it leaves to the caller handled here once:

- a **history restore**: when htmx misses its history cache (Back after a few swaps) it asks
  the server for the page again with ``HX-Request`` *and* ``HX-History-Restore-Request``; that
  request must get the whole page, or the window shrinks to the bare fragment;
- **caches**: the answer depends on those headers, so every answer says so in ``Vary``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

# The request headers that choose between the page and its partial (django-htmx reads them).
HTMX_VARY = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request")


def paginate(
    request: HttpRequest, items: QuerySet[Any] | Sequence[Any], *, per_page: int
) -> dict[str, Any]:
    """The page ``?page=`` asks for (the last one when past it, the first when not a number).

    Returns the context a list template's pagination needs: ``page`` (a Django ``Page``) and
    ``query``, the request's query string without ``page``, so that the Previous/Next links
    keep the filters.
    """
    page: Page[Any] = Paginator(items, per_page).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {"page": page, "query": query.urlencode()}


def wants_partial(request: HttpRequest) -> bool:
    """Whether to answer with the partial: an HTMX request that swaps a part of the page, not a
    boosted link (a whole page) nor a history restore (htmx needs the whole page back)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request  # type: ignore[union-attr]


def render_page(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any],
    *,
    partial: str = "results",
    status: int = 200,
) -> HttpResponse:
    """Render ``template_name``, or only its ``{% partialdef partial %}`` when ``wants_partial``.

    The context gets ``is_partial`` (a template may add out-of-band swaps only then), and the
    response a ``Vary`` on the headers that made the choice.
    """
    is_partial = wants_partial(request)
    name = f"{template_name}#{partial}" if is_partial else template_name
    response = render(request, name, {**context, "is_partial": is_partial}, status=status)
    patch_vary_headers(response, HTMX_VARY)
    return response
