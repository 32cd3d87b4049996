from __future__ import annotations

from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.activity_view, name="activity"),
    # One name per format: the file format is not an object (tests/security/test_urls.py).
    path("export.csv", views.activity_export_view, {"file_format": "csv"}, name="export_csv"),
    path("export.xlsx", views.activity_export_view, {"file_format": "xlsx"}, name="export_xlsx"),
]
