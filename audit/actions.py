"""The names of the events in the audit trail and their translated labels.

An event's ``action`` is a plain string so that any app can record a new kind of event without
a migration; add its label here so that people read a sentence, not a code. An action without
a label is shown by its code.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTION_LABELS: dict[str, str | Promise] = {
    # Log in and sessions (audit.signals, accounts)
    "auth.logged_in": _("Logged in"),
    "auth.logged_out": _("Logged out"),
    "auth.login_failed": _("Failed log in"),
    "auth.locked_out": _("Log in refused: locked out after repeated failures"),
    "auth.address_throttled": _("Log ins refused: too many failures from one address"),
    "auth.session_expired": _("Session ended by its time limit"),
    "auth.sessions_ended": _("Sessions ended: user deactivated"),
    "auth.two_factor_enrolled": _("Two-factor authentication set up"),
    "auth.two_factor_verified": _("Two-factor code accepted"),
    "auth.two_factor_failed": _("Two-factor code refused"),
    "auth.recovery_codes_replaced": _("Recovery codes replaced"),
    "auth.password_reset_requested": _("Password reset link emailed"),
    "auth.password_reset_done": _("Password changed with a reset link"),
    # The manufacturer's team (accounts.services, issue #18)
    "team.invited": _("Colleague invited"),
    "team.invitation_withdrawn": _("Invitation withdrawn"),
    "team.invitation_accepted": _("Invitation accepted: account made"),
    "team.role_changed": _("Colleague's role changed"),
    "team.deactivated": _("Colleague deactivated"),
    "team.company_settings_changed": _("Company settings changed"),
    "team.two_factor_required": _("Two-factor authentication required for the company"),
    "team.two_factor_optional": _("Two-factor authentication no longer required"),
    # Abuse limits (accounts.ratelimit)
    "ratelimit.exceeded": _("Refused: too many requests a minute"),
    # Staff changes through the admin (audit.admin_log)
    "admin.added": _("Added in the admin"),
    "admin.changed": _("Changed in the admin"),
    "admin.deleted": _("Deleted in the admin"),
    # Orders and deliveries
    "original_delivery.recorded": _("Original delivery recorded"),
    "original_delivery.reversed": _("Original delivery reversed"),
    "delivery.taken": _("New delivery taken"),
    "delivery.refused": _("New delivery refused"),
    "delivery.voided": _("New delivery voided"),
    # Token files (tokens.generation, tokens.services)
    "tokens.file_ready": _("Token file ready"),
    "tokens.file_failed": _("Token file failed"),
    "tokens.file_retried": _("Token file queued again after a failure"),
    "tokens.downloaded": _("Token file downloaded"),
    "tokens.file_archived": _("Token file archived (retention); its tokens are kept"),
    "tokens.file_restored": _("Archived token file made again from its tokens"),
    "tokens.workbooks_made": _("Excel (.xlsx) License List made for an earlier token file"),
    "tokens.looked_up": _("Tokens looked up by UUID"),
    "tokens.revocation_list": _("Revocation list of replaced and revoked UUIDs downloaded"),
    # Work orders (workorders.services)
    "workorders.submitted": _("Work order submitted"),
    "workorders.replied": _("Work order reply"),
    "workorders.status_changed": _("Work order status changed"),
    "workorders.transition_refused": _("Work order change refused"),
    "workorders.assigned": _("Work order assigned"),
    "workorders.tool_attached": _("Refurbishment tool attached"),
    "workorders.tool_downloaded": _("Refurbishment tool downloaded"),
    "workorders.attachment_downloaded": _("Work order attachment downloaded"),
    # API keys and webhooks (api.services, webhooks.services)
    "api_key.created": _("API key made"),
    "api_key.revoked": _("API key revoked"),
    "webhook.endpoint_created": _("Webhook endpoint added"),
    "webhook.endpoint_deleted": _("Webhook endpoint removed"),
    "webhook.endpoint_disabled": _("Webhook endpoint disabled after failing for a day"),
    "webhook.endpoint_enabled": _("Webhook endpoint enabled again"),
    "webhook.resent": _("Webhook event sent again"),
    # Settings (accounts.time_zones, notifications)
    "accounts.time_zone_set": _("Time zone set"),
    "notifications.preferences_changed": _("Notification settings changed"),
}


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action
