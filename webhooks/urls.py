from __future__ import annotations

from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.webhook_list_view, name="list"),
    path("<int:pk>/", views.webhook_detail_view, name="detail"),
    path("<int:pk>/enable/", views.webhook_enable_view, name="enable"),
    path("<int:pk>/delete/", views.webhook_delete_view, name="delete"),
    path(
        "<int:pk>/messages/<int:message_id>/send-again/",
        views.webhook_resend_view,
        name="resend",
    ),
]
