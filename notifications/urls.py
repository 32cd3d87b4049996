from __future__ import annotations

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("settings/", views.settings_view, name="settings"),
    path("settings/time-zone/", views.time_zone_detect_view, name="time_zone_detect"),
    path("notifications/", views.notice_list_view, name="list"),
    path("notifications/<int:pk>/read/", views.notice_read_view, name="read"),
    path("notifications/read-all/", views.notices_read_all_view, name="read_all"),
]
