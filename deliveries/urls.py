from __future__ import annotations

from django.urls import path

from deliveries import views

app_name = "deliveries"

urlpatterns = [
    path(
        "orders/<order_number:number>/new-delivery/",
        views.initiate_new_delivery_view,
        name="initiate",
    ),
    path("new-deliveries/", views.delivery_list_view, name="delivery_list"),
    path(
        "orders/<order_number:number>/new-deliveries/",
        views.order_delivery_list_view,
        name="order_delivery_list",
    ),
]
