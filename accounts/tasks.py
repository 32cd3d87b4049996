"""Celery tasks of accounts: thin adapters that call a service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="accounts.password_reset_email_send")
def password_reset_email_send(email: str, language: str, domain: str, use_https: bool) -> int:
    """Send the forgot-password email, if anyone has this address (the service decides)."""
    from accounts.services import password_reset_email_send as send

    return send(email=email, language=language, domain=domain, use_https=use_https)
