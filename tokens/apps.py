from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = _("Tokens")

    def ready(self) -> None:
        from orders.services import original_delivery_recorded, original_delivery_reversing
        from tokens.services import original_tokens_revoke, original_tokens_schedule

        original_delivery_recorded.connect(original_tokens_schedule, dispatch_uid="tokens")
        original_delivery_reversing.connect(original_tokens_revoke, dispatch_uid="tokens")
