from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Manufacturer(models.Model):
    """A device maker: the tenant. Every order, product and file belongs to one."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    require_two_factor = models.BooleanField(
        _("require two-factor authentication"),
        default=False,
        help_text=_("When on, this manufacturer's users must verify a one-time password."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

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

    class Meta(AbstractUser.Meta):
        constraints = [
            # Platform staff belong to no manufacturer; everyone else belongs to exactly one.
            models.CheckConstraint(
                condition=models.Q(is_staff=True) | models.Q(manufacturer__isnull=False),
                name="user_non_staff_has_manufacturer",
            ),
        ]
