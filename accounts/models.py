from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
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

    class Meta(AbstractUser.Meta):
        constraints = [
            # Platform staff belong to no manufacturer; everyone else belongs to exactly one.
            models.CheckConstraint(
                condition=models.Q(is_staff=True) | models.Q(manufacturer__isnull=False),
                name="user_non_staff_has_manufacturer",
            ),
        ]
