from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import set_language

admin.site.site_header = "Refurb Portal"
admin.site.site_title = "Refurb Portal"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="orders:purchase_order_list"), name="home"),
    path("accounts/", include("accounts.urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    path("purchase/", include("orders.urls")),
    path("purchase/", include("deliveries.urls")),
    path("purchase/", include("tokens.urls")),
    path("work-orders/", include("workorders.urls")),
    path("activity/", include("audit.urls")),
]
