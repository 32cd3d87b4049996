from __future__ import annotations

from django.urls import path, register_converter

from tokens import lookup_views, views


class FileFormatConverter:
    """``csv`` or ``xlsx`` in a URL; anything else does not match (404)."""

    regex = "csv|xlsx"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return str(value)


register_converter(FileFormatConverter, "fileformat")

app_name = "tokens"

urlpatterns = [
    path(
        "new-deliveries/<int:delivery_id>/download/",
        views.token_file_download_view,
        name="download",
    ),
    path(
        "new-deliveries/<int:delivery_id>/download/<fileformat:file_format>/<int:part>/",
        views.token_file_part_download_view,
        name="download_file",
    ),
    path(
        "original-deliveries/<int:original_delivery_id>/download/<fileformat:file_format>/"
        "<int:part>/",
        views.original_token_file_download_view,
        name="original_download",
    ),
    path(
        "orders/<order_number:number>/new-deliveries/zip/<fileformat:file_format>/",
        views.order_files_zip_view,
        name="order_download",
    ),
    path("tokens/lookup/", lookup_views.token_lookup_view, name="lookup"),
    path("tokens/revocation-list/", lookup_views.revocation_list_view, name="revocation_list"),
]
