"""The log-in backend: Django's ``ModelBackend``, with the user of every request read in one query.

Each request reads its user from the session (``AuthenticationMiddleware``), then the middleware
and views ask for the user's manufacturer (tenancy, ``accounts.access``) and whether they have a
confirmed two-factor device (``TwoFactorMiddleware``). Read one by one that was four queries
(user, manufacturer, TOTP devices, recovery-code devices); here it is one joined read.
"""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import Exists, OuterRef, Q
from django_otp import device_classes

from accounts.models import User

# The attribute a request's user carries: whether they had a confirmed device of any kind
# (django-otp's plugins: TOTP, recovery codes) when the request began.
HAS_CONFIRMED_DEVICE = "has_confirmed_device_at_load"


def confirmed_device_exists() -> Q:
    """``Q`` true for a user with a confirmed device of any installed django-otp kind, as
    ``django_otp.user_has_device(user, confirmed=True)`` answers it."""
    return reduce(
        or_,
        (
            Q(Exists(model.objects.filter(user=OuterRef("pk"), confirmed=True)))
            for model in device_classes()
        ),
    )


class PortalBackend(ModelBackend):
    """``ModelBackend`` whose ``get_user`` joins the manufacturer and the device flag."""

    def get_user(self, user_id: Any) -> User | None:
        """The active user ``user_id`` with ``manufacturer`` joined and ``HAS_CONFIRMED_DEVICE``
        set; None when there is none or they may not log in (``user_can_authenticate``)."""
        try:
            user = (
                User._default_manager.select_related("manufacturer")
                .annotate(**{HAS_CONFIRMED_DEVICE: confirmed_device_exists()})
                .get(pk=user_id)
            )
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
