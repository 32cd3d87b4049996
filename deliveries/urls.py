from __future__ import annotations

from django.urls import path

from deliveries import views
from refurb_portal.exports import export_urls

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
    *export_urls("new-deliveries/export", views.delivery_export_view, name="delivery"),
    path(
        "orders/<order_number:number>/new-deliveries/",
        views.order_delivery_list_view,
        name="order_delivery_list",
    ),
    *export_urls(
        "orders/<order_number:number>/new-deliveries/export",
        views.order_delivery_export_view,
        name="order_delivery",
    ),
    path("new-deliveries/<int:delivery_id>/void/", views.void_new_delivery_view, name="void"),
]
