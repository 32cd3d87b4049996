"""Cursor pagination on ``(-created_at, -id)`` order: stable while rows are added."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import TypeVar

from django.db.models import Model, Q, QuerySet

from api.errors import ApiError

M = TypeVar("M", bound=Model)
MAX_LIMIT = 100


def cursor_page[M: Model](
    queryset: QuerySet[M],
    *,
    cursor: str | None,
    limit: int,
    field: str = "created_at",
    max_limit: int = MAX_LIMIT,
) -> tuple[list[M], str | None]:
    """One page of ``queryset`` (ordered newest first by ``field`` then id) after ``cursor``.

    The cursor is URL-safe base64 of ``[iso datetime, id]`` of the last row given; a cursor this
    API did not make raises ``ApiError("invalid_cursor")``. ``limit`` is clamped to
    1..``max_limit`` (100 unless the operation allows more).
    """
    limit = max(1, min(limit, max_limit))
    if cursor:
        try:
            stamp, last_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            moment = dt.datetime.fromisoformat(stamp)
            if moment.tzinfo is None:
                raise ValueError(stamp)
            last_id = int(last_id)
        except (ValueError, TypeError, binascii.Error, UnicodeError) as exc:
            raise ApiError("invalid_cursor") from exc
        queryset = queryset.filter(
            Q(**{f"{field}__lt": moment}) | Q(**{field: moment, "pk__lt": last_id})
        )
    rows = list(queryset.order_by(f"-{field}", "-pk")[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    token = json.dumps([getattr(last, field).isoformat(), last.pk])
    return rows, base64.urlsafe_b64encode(token.encode()).decode()
