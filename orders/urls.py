from __future__ import annotations

from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("orders/", views.purchase_order_list_view, name="purchase_order_list"),
]
