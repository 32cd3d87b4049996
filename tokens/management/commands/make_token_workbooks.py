"""One-off: give every READY token file made before .xlsx existed its Excel License List.

Run once after deploying the .xlsx change (``python manage.py make_token_workbooks``); running
it again does nothing for files that have their workbooks. Their CSVs are left as they are.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tokens.generation import token_file_make_workbooks
from tokens.selectors import token_files_without_workbooks


class Command(BaseCommand):
    help = "Make the .xlsx License List of READY token files that have none (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        made = 0
        for token_file_id in token_files_without_workbooks():
            parts = token_file_make_workbooks(token_file_id=token_file_id)
            if parts:
                made += 1
                self.stdout.write(f"token file {token_file_id}: {parts} .xlsx part(s)")
        self.stdout.write(f"{made} token file(s) given their .xlsx License List.")
