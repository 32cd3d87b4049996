"""The New delivery list's rows, with what each shows worked out once in Python.

A row of the list used to cost four ``{% url %}`` reversals, two template includes and a dozen
translation lookups; across 25 rows that was most of the page's time (bench/web.py, profile in
bench/results/profiles/). Here each URL is reversed once per page with a marker id and filled in
per row, and the template reads plain attributes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

from django.urls import reverse
from django.utils.translation import gettext as _

from deliveries.models import NewDelivery
from tokens.models import TokenFile, TokenWorkbook

# Stand for the ids in a URL reversed once per page (ints the <int:...> converter takes).
_MARKERS = ("987654321", "987654322")


def _reversed_once(viewname: str, *args: object) -> Callable[..., str]:
    """A function of the ids giving ``reverse(viewname, args=...)``, where ``args`` has ``int``
    (the type) at each id's place: reversed once, then each row's ids are put in place of the
    markers (an ``<int:...>`` path segment is the integer's digits)."""
    markers = iter(_MARKERS)
    path = reverse(viewname, args=[next(markers) if a is int else a for a in args])
    pieces = re.split(f"({'|'.join(_MARKERS)})", path)

    def fill(*ids: int) -> str:
        values = dict(zip(_MARKERS, map(str, ids), strict=False))
        return "".join(values.get(piece, piece) for piece in pieces)

    return fill


@dataclass(frozen=True)
class WorkbookLink:
    workbook: TokenWorkbook
    url: str


@dataclass
class DeliveryRow:
    """One row: the delivery (``order``, ``product``, ``taken_by``, ``file`` joined), its file
    and the URLs and texts its cells show."""

    delivery: NewDelivery
    token_file: TokenFile | None
    order_url: str
    csv_url: str
    workbooks: list[WorkbookLink]
    void_url: str

    @cached_property
    def status_label(self) -> str:
        """The file's status in words (``get_status_display`` would hash every choice's lazy
        label to find it, a translation lookup each)."""
        return str(TokenFile.Status(self.token_file.status).label) if self.token_file else ""

    @cached_property
    def announcement(self) -> str:
        """What screen readers hear of the row when the polling changes it."""
        return _("%(number)s: %(status)s.") % {
            "number": self.delivery.number,
            "status": self.status_label,
        }


def delivery_rows(
    deliveries: Iterable[NewDelivery], *, with_order_links: bool
) -> list[DeliveryRow]:
    """The rows of ``deliveries`` (a page of ``new_delivery_list``), in their order.

    ``with_order_links``: whether the rows link to their order's list (the all-orders list).
    """
    csv_url = _reversed_once("tokens:download", int)
    part_url = _reversed_once("tokens:download_file", int, "xlsx", int)
    void_url = _reversed_once("deliveries:void", int)
    order_urls: dict[str, str] = {}
    rows = []
    for delivery in deliveries:
        token_file: TokenFile | None = getattr(delivery, "file", None)
        number = delivery.order.number
        if with_order_links and number not in order_urls:
            order_urls[number] = reverse("deliveries:order_delivery_list", args=[number])
        workbooks = []
        if token_file is not None and token_file.status == TokenFile.Status.READY:
            workbooks = [
                WorkbookLink(w, part_url(delivery.pk, w.part)) for w in token_file.workbooks.all()
            ]
        rows.append(
            DeliveryRow(
                delivery=delivery,
                token_file=token_file,
                order_url=order_urls.get(number, ""),
                csv_url=csv_url(delivery.pk),
                workbooks=workbooks,
                void_url=void_url(delivery.pk),
            )
        )
    return rows
