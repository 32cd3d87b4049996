"""The demo staff member's authenticator (make run): a fixed, public key, so that anyone
trying the portal can get a code from ``manage.py demo_totp`` or add the key to an app.

Never give a real account this key: it is printed in the README.
"""

from __future__ import annotations

import time

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.services import AUTHENTICATOR_NAME

# b"refurb-portal-demo-1" as hex; base32 (what an app asks for): OJSWM5LSMIWXA33SORQWYLLEMVWW6LJR
DEMO_TOTP_KEY = "7265667572622d706f7274616c2d64656d6f2d31"


def demo_totp_device_ensure(*, user: User) -> TOTPDevice:
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, key=DEMO_TOTP_KEY, defaults={"name": AUTHENTICATOR_NAME, "confirmed": True}
    )
    return device


def demo_totp_code(*, device: TOTPDevice) -> tuple[str, int]:
    """The device's current code and the seconds it stays current."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now = time.time()
    totp.time = now
    left = device.step - int(now - device.t0) % device.step
    return f"{totp.token():0{device.digits}d}", left
