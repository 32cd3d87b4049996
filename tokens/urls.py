from __future__ import annotations

from django.urls import path

from tokens import views

app_name = "tokens"

urlpatterns = [
    path(
        "new-deliveries/<int:delivery_id>/download/",
        views.token_file_download_view,
        name="download",
    ),
]
