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
    path(
        "orders/<order_number:number>/new-delivery/old-uuids/<str:key>/problems.csv",
        views.old_uuid_problems_view,
        name="old_uuid_problems",
    ),
    path("new-deliveries/", views.delivery_list_view, name="delivery_list"),
    path(
        "orders/<order_number:number>/new-deliveries/",
        views.order_delivery_list_view,
        name="order_delivery_list",
    ),
    path("new-deliveries/<int:delivery_id>/void/", views.void_new_delivery_view, name="void"),
]
