from __future__ import annotations

import hashlib
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.time_zone_names import validate_time_zone


class Manufacturer(models.Model):
    """A device maker: the tenant. Every order, product and file belongs to one."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    require_two_factor = models.BooleanField(
        _("require two-factor authentication"),
        default=False,
        help_text=_("When on, this manufacturer's users must verify a one-time password."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # --- Time zone and notifications (accounts.time_zones, the notifications app) ---
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("The company's default, for users who have not chosen their own (IANA name)."),
    )
    notification_email = models.EmailField(
        _("notification address"),
        blank=True,
        help_text=_("A shared address that is also told when a token file is ready or failed."),
    )
    # --- end ---

    class Meta:
        ordering = ["name"]
        verbose_name = _("manufacturer")
        verbose_name_plural = _("manufacturers")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A portal user: a manufacturer's employee, or platform staff (no manufacturer)."""

    manufacturer = models.ForeignKey(
        Manufacturer,
        verbose_name=_("manufacturer"),
        on_delete=models.PROTECT,
        related_name="users",
        null=True,
        blank=True,
    )
    # --- Time zone (accounts.time_zones): empty until chosen or detected by the browser ---
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_time_zone]
    )
    # The language of the emails the user is sent (notifications); empty: LANGUAGE_CODE.
    language = models.CharField(
        _("language of emails"), max_length=10, blank=True, choices=settings.LANGUAGES
    )
    # --- end ---

    # --- Roles in the manufacturer's team (issue #18; what each may do: accounts.access) ---
    class Role(models.TextChoices):
        ADMINISTRATOR = "administrator", _("Administrator")
        PLANNER = "planner", _("Planner")
        VIEWER = "viewer", _("Viewer")

    role = models.CharField(
        _("role"),
        max_length=20,
        choices=Role.choices,
        default=Role.PLANNER,
        help_text=_(
            "Administrators manage the team; planners may also take deliveries and download "
            "token files; viewers only read."
        ),
    )
    # --- end of roles ---

    class Meta(AbstractUser.Meta):
        constraints = [
            # Platform staff belong to no manufacturer; everyone else belongs to exactly one.
            models.CheckConstraint(
                condition=models.Q(is_staff=True) | models.Q(manufacturer__isnull=False),
                name="user_non_staff_has_manufacturer",
            ),
        ]


# --- Invitations to a manufacturer's team (issue #18; written by accounts.services) ---
class Invitation(models.Model):
    """An administrator's invitation of a colleague by email. Only the SHA-256 of the token in
    the emailed link is kept; the link works once (``accepted_at``), until ``expires_at``."""

    manufacturer = models.ForeignKey(
        Manufacturer,
        verbose_name=_("manufacturer"),
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=20, choices=User.Role.choices)
    # The language of the email (a code of settings.LANGUAGES): the invitee has no account yet.
    language = models.CharField(_("language"), max_length=10)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        User, verbose_name=_("invited by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return self.email

    @staticmethod
    def token_digest(token: str) -> str:
        """The SHA-256 (hex) of a link's token: what ``token_hash`` keeps."""
        return hashlib.sha256(token.encode()).hexdigest()

    def is_open(self, now: datetime | None = None) -> bool:
        """Neither accepted nor withdrawn, and not expired."""
        moment = now or timezone.now()
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > moment
