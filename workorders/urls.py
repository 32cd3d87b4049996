from __future__ import annotations

from django.urls import path

from workorders import views

app_name = "workorders"

urlpatterns = [
    path("", views.work_order_list_view, name="list"),
]
