from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, register_converter
from django.views.decorators.http import require_POST
from django.views.generic import RedirectView
from django.views.i18n import set_language

from api.routes import api_v1_urls
from refurb_portal import operations
from refurb_portal.identifiers import OrderNumberConverter

# An unhandled error: problem details under /api/, the portal's 500.html elsewhere.
handler500 = "api.problems.server_error"

# Before the apps' URL modules are included: they use it.
register_converter(OrderNumberConverter, "order_number")

urlpatterns = [
    # For orchestrators and monitoring (refurb_portal.operations): no session, no language.
    path("healthz", operations.healthz_view, name="healthz"),
    path("readyz", operations.readyz_view, name="readyz"),
    path("metrics", operations.metrics_view, name="metrics"),
    path("", RedirectView.as_view(pattern_name="orders:purchase_order_list"), name="home"),
    path("accounts/", include("accounts.urls")),
    # POST only: switching the language changes state (a cookie), so GET is refused (405).
    path("i18n/setlang/", login_not_required(require_POST(set_language)), name="set_language"),
    path("admin/", admin.site.urls),
    path("purchase/", include("orders.urls")),
    path("purchase/", include("deliveries.urls")),
    path("purchase/", include("tokens.urls")),
    path("work-orders/", include("workorders.urls")),
    path("activity/", include("audit.urls")),
    path("settings/api-keys/", include("api.urls")),
    path("settings/webhooks/", include("webhooks.urls")),
    # Settings (time zone, notifications) and the Notifications page.
    path("", include("notifications.urls")),
    # The public API: bearer keys, no session, no CSRF (api.routes).
    path("api/v1/", api_v1_urls()),
]
