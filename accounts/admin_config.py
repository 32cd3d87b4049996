"""The admin app, with our site as its default ``admin.site`` (kept import-light: this module
is loaded while the app registry is being built)."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.PortalAdminSite"
