"""The one way a portal page is paginated and answered: the full page, or its HTMX partial.

Learned from django-htmx's example project (``render(request, "page.html#partial")`` when
``request.htmx``), with the two cases it leaves to the caller handled here once:

- a **history restore**: when htmx misses its history cache (Back after a few swaps) it asks
  the server for the page again with ``HX-Request`` *and* ``HX-History-Restore-Request``; that
  request must get the whole page, or the window shrinks to the bare fragment;
- **caches**: the answer depends on those headers, so every answer says so in ``Vary``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.formats import get_format, number_format

# The request headers that choose between the page and its partial (django-htmx reads them).
HTMX_VARY = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request")


class CappedPaginator(Paginator):
    """A ``Paginator`` that counts at most ``cap`` rows, so that a list's first pages cost the
    same for a manufacturer with 1,000 rows or 1,000,000 (``COUNT(*)`` reads every row).

    ``count`` is exact up to ``cap``; past it, it is ``cap + 1`` and ``capped`` is true: the
    list has "more than ``cap``" rows, and ``num_pages`` reaches one page past the cap, so that
    Next stays offered. ``paginate`` raises the cap to cover the page asked for, so that every
    page stays reachable; what a far page costs is its ``OFFSET``, not the count.
    """

    def __init__(self, object_list: QuerySet[Any] | Sequence[Any], per_page: int, *, cap: int):
        super().__init__(object_list, per_page)
        self.cap = cap

    @cached_property
    def count(self) -> int:
        """Rows in the list, counted up to ``cap + 1`` (a ``LIMIT`` inside the ``COUNT``)."""
        if isinstance(self.object_list, QuerySet):
            return self.object_list[: self.cap + 1].count()
        return min(len(self.object_list), self.cap + 1)

    @property
    def capped(self) -> bool:
        """Whether the list has more rows than were counted."""
        return self.count > self.cap


# No list has this many pages; a larger ?page= is answered with the last page all the same.
MAX_PAGE_NUMBER = 1_000_000


def page_number(request: HttpRequest) -> int:
    """The page ``?page=`` asks for, 1 when it is not a positive number, at most
    ``MAX_PAGE_NUMBER`` (so that the count's LIMIT stays a small bigint)."""
    try:
        return min(max(1, int(request.GET.get("page", 1))), MAX_PAGE_NUMBER)
    except (TypeError, ValueError):
        return 1


def paginate(
    request: HttpRequest,
    items: QuerySet[Any] | Sequence[Any],
    *,
    per_page: int,
    count_cap: int | None = None,
) -> dict[str, Any]:
    """The page ``?page=`` asks for (the last one when past it, the first when not a number).

    Returns the context a list template's pagination needs: ``page`` (a Django ``Page``) and
    ``query``, the request's query string without ``page``, so that the Previous/Next links
    keep the filters.

    ``count_cap``: count at most that many rows (``CappedPaginator``; at least up to the page
    asked for): the template then says "more than" when ``page.paginator.capped``. None counts
    them all (``COUNT(*)`` over the whole list: its cost grows with the list).
    """
    paginator: Paginator[Any]
    if count_cap is None:
        paginator = Paginator(items, per_page)
    else:
        cap = max(count_cap, page_number(request) * per_page)
        paginator = CappedPaginator(items, per_page, cap=cap)
    page: Page[Any] = paginator.get_page(request.GET.get("page"))
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


# --- Rows worked out once per page --------------------------------------------------------------
# A table's template asking each row for a URL ({% url %}), a label (get_*_display, a lazy
# translation) or a grouped number (|intcomma) repeats the same lookups 25 to 100 times a page;
# these do each once a page, and the row costs a string operation.

URL_MARKER = "URL-ARGUMENT"


def url_for_each(viewname: str, *, marker: str | int = URL_MARKER) -> Callable[[object], str]:
    """A function of one argument giving ``reverse(viewname, args=[value])``, at the cost of one
    ``reverse`` for all values. Only for a URL whose one argument needs no quoting (an order
    number: letters, digits, ``._-``; a primary key); ``marker`` must match its converter (an
    int for ``<int:...>``). Raises ``NoReverseMatch`` as ``reverse`` does."""
    head, found, tail = reverse(viewname, args=[marker]).partition(str(marker))
    if not found:
        raise ValueError(f"{viewname}: the marker is not in its URL")
    return lambda value: f"{head}{value}{tail}"


def grouping() -> Callable[[int], str]:
    """A function giving an int grouped as ``|intcomma`` writes it in the active language
    (``12,345`` in English, ``12345`` in Chinese, whose separator is empty), looked up once."""
    separator = str(get_format("THOUSAND_SEPARATOR"))
    if not separator:
        return str
    if get_format("NUMBER_GROUPING") == 3:
        return lambda value: f"{value:,}".replace(",", separator)
    return lambda value: number_format(value, use_l10n=True, force_grouping=True)
