"""Every add, change and delete made through the admin goes into the audit trail.

Django's admin writes its own history (``LogEntry``) through the ``log_addition``,
``log_change`` and ``log_deletions`` methods of each ModelAdmin. ``AuditedModelAdminMixin``
keeps that history and appends an audit event for each object, with the staff member, the
address and the admin's own change message. ``accounts.admin_site.PortalAdminSite`` mixes it
into every ModelAdmin registered on the site, so no app has to remember to.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.services import audit_record

if TYPE_CHECKING:
    # Typing only: audit sits below accounts in the stack of apps (tests/test_layers.py).
    from accounts.models import Manufacturer


def owning_manufacturer(obj: models.Model) -> Manufacturer | None:
    """The manufacturer an object belongs to, so that it sees staff changes to its things."""
    Manufacturer = apps.get_model("accounts", "Manufacturer")
    if isinstance(obj, Manufacturer):
        return obj
    for path in ("manufacturer", "order", "delivery"):
        related = getattr(obj, path, None)
        if isinstance(related, Manufacturer):
            return related
        if isinstance(related, models.Model) and related is not obj:
            found = owning_manufacturer(related)
            if found is not None:
                return found
    return None


def _change_message(message: Any) -> Any:
    if isinstance(message, str):
        try:
            return json.loads(message) if message.startswith("[") else message
        except ValueError:
            return message
    return message


class AuditedModelAdminMixin:
    """Put before the ModelAdmin class: ``class X(AuditedModelAdminMixin, admin.ModelAdmin)``."""

    def _audit(
        self, request: HttpRequest, obj: models.Model, action: str, message: Any = ""
    ) -> None:
        user = request.user if isinstance(request.user, get_user_model()) else None
        audit_record(
            action=action,
            actor=user,
            obj=obj,
            manufacturer=owning_manufacturer(obj),
            request=request,
            details={"change": _change_message(message)} if message else {},
        )

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> LogEntry:
        entry = super().log_addition(request, obj, message)  # type: ignore[misc]
        self._audit(request, obj, "admin.added", message)
        return entry

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> LogEntry:
        entry = super().log_change(request, obj, message)  # type: ignore[misc]
        self._audit(request, obj, "admin.changed", message)
        return entry

    def log_deletions(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        # Called before the objects are deleted, once for the page and once for the bulk action.
        objects = list(queryset)
        entries = super().log_deletions(request, queryset)  # type: ignore[misc]
        for obj in objects:
            self._audit(request, obj, "admin.deleted")
        return entries


def audited(admin_class: type[admin.ModelAdmin[Any]]) -> type[admin.ModelAdmin[Any]]:
    """``admin_class`` with the audit mixin in front (itself when it already has it)."""
    if issubclass(admin_class, AuditedModelAdminMixin):
        return admin_class
    return type(
        admin_class.__name__,
        (AuditedModelAdminMixin, admin_class),
        {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
    )
