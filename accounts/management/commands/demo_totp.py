"""Print the current two-factor code of a demo account (make run). Only devices holding the
public demo key are answered, so this never reveals a real user's code."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.demo import DEMO_TOTP_KEY, demo_totp_code


class Command(BaseCommand):
    help = "Print the current two-factor code of the demo staff user (demo key only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?", default="staff")

    def handle(self, *args: Any, **options: Any) -> None:
        device = TOTPDevice.objects.filter(
            user__username=options["username"], key=DEMO_TOTP_KEY, confirmed=True
        ).first()
        if device is None:
            raise CommandError(f"{options['username']} has no demo authenticator (run demo_data).")
        code, left = demo_totp_code(device=device)
        self.stdout.write(f"{code}   (current for {left} more seconds; each code works once)")
