from __future__ import annotations

from django.urls import path

from workorders import views

app_name = "workorders"

urlpatterns = [
    path("", views.work_order_list_view, name="list"),
    path("new/", views.work_order_submit_view, name="submit"),
    path("<int:pk>/", views.work_order_detail_view, name="detail"),
    path("<int:pk>/tool/", views.tool_download_view, name="tool_download"),
    path(
        "<int:pk>/attachments/<int:attachment_id>/",
        views.attachment_download_view,
        name="attachment_download",
    ),
]
