from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import Manufacturer, User


@admin.register(Manufacturer)
class ManufacturerAdmin(admin.ModelAdmin[Manufacturer]):
    list_display = ["name", "require_two_factor", "created_at"]
    list_filter = ["require_two_factor"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "manufacturer", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_active", "manufacturer"]
    search_fields = ["username", "email", "first_name", "last_name", "manufacturer__name"]
    list_select_related = ["manufacturer"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (_("Manufacturer"), {"fields": ("manufacturer",)}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Manufacturer"), {"fields": ("manufacturer",)}),
    )
