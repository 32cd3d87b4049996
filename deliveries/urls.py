from __future__ import annotations

from django.urls import path

from deliveries import views

app_name = "deliveries"

urlpatterns = [
    path("orders/<str:number>/new-delivery/", views.initiate_new_delivery_view, name="initiate"),
    path("new-deliveries/<int:delivery_id>/void/", views.void_new_delivery_view, name="void"),
]
