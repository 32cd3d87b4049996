"""The product's URLs plus one bare view: the yardstick a page's rate is compared with."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from refurb_portal.urls import urlpatterns as product_urlpatterns


@login_not_required
def bare_view(request: HttpRequest) -> HttpResponse:
    """The cheapest Django page that touches the database: one query, no session, no template."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (value,) = cursor.fetchone()
    return HttpResponse(f"ok {value}\n", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare_view, name="bench_bare"), *product_urlpatterns]
