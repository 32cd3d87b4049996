from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import Manufacturer, User
from accounts.services import user_deactivate


@admin.register(Manufacturer)
class ManufacturerAdmin(admin.ModelAdmin[Manufacturer]):
    list_display = ["name", "require_two_factor", "created_at"]
    list_filter = ["require_two_factor"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = [
        "username",
        "email",
        "manufacturer",
        "role",
        "is_staff",
        "is_active",
        "last_login",
    ]
    list_filter = ["is_staff", "is_active", "role", "manufacturer"]
    search_fields = ["username", "email", "first_name", "last_name", "manufacturer__name"]
    list_select_related = ["manufacturer"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (_("Manufacturer"), {"fields": ("manufacturer", "role")}),
    )

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            user_deactivate(user=obj)

    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Manufacturer"), {"fields": ("manufacturer", "role")}),
    )
