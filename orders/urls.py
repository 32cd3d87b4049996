from __future__ import annotations

from django.urls import path

from orders import views
from refurb_portal.exports import export_urls

app_name = "orders"

urlpatterns = [
    path("orders/", views.purchase_order_list_view, name="purchase_order_list"),
    *export_urls("orders/export", views.purchase_order_export_view, name="purchase_order"),
    path("orders/<order_number:number>/", views.order_detail_view, name="order_detail"),
]
