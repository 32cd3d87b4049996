from __future__ import annotations

from django.urls import path

import refurb_portal.exports  # noqa: F401  (registers the export_format converter)
from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.activity_view, name="activity"),
    path("export.<export_format:file_format>", views.activity_export_view, name="export"),
]
