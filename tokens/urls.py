from __future__ import annotations

from django.urls import path

from tokens import views

app_name = "tokens"

urlpatterns = [
    path("new-deliveries/", views.delivery_list_view, name="delivery_list"),
    path(
        "new-deliveries/<int:delivery_id>/download/",
        views.token_file_download_view,
        name="download",
    ),
    path(
        "orders/<order_number:number>/new-deliveries/",
        views.order_delivery_list_view,
        name="order_delivery_list",
    ),
]
