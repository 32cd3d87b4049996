"""Emails about work orders: who is told what, and when.

Services call ``notify_after_commit`` inside their transaction; the email task is enqueued only
once the change is committed (a rolled-back change tells no one), and a worker sends it, so a
slow or broken mail server never blocks or fails the request. Send errors are logged.

| event | told |
|---|---|
| a work order is submitted | every active staff user with an email address |
| staff reply, change the status, or attach the tool | the manufacturer's active users |
| the manufacturer replies | the assigned staff user, or every staff user when unassigned |
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerError

from workorders.models import WorkOrder, WorkOrderMessage, WorkOrderTransition
from workorders.selectors import manufacturer_recipients, staff_recipients

logger = logging.getLogger(__name__)


def site_url_for(request: HttpRequest | None) -> str:
    """The portal's address for links in emails: the request's, else ``PORTAL_BASE_URL``."""
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return str(settings.PORTAL_BASE_URL).rstrip("/")


def notify_after_commit(kind: str, object_id: int, request: HttpRequest | None) -> None:
    """Enqueue the email task for ``kind`` once the current transaction commits."""
    site_url = site_url_for(request)

    def enqueue() -> None:
        from workorders.tasks import work_order_notify

        try:
            work_order_notify.delay(kind, object_id, site_url)
        except BrokerError:
            logger.exception("Broker unreachable; work order email %s %s not sent", kind, object_id)

    # robust: an error in enqueueing (or in an eager run) is logged, never raised to the view.
    transaction.on_commit(enqueue, robust=True)


def _send(*, recipients: list[str], subject: str, template: str, context: dict[str, object]) -> int:
    if not recipients:
        return 0
    body = render_to_string(template, context)
    # One message per recipient, so no one sees the others' addresses.
    messages = [EmailMessage(subject=subject, body=body, to=[address]) for address in recipients]
    try:
        return mailers.default.send_messages(messages) or 0
    except (smtplib.SMTPException, OSError):
        logger.exception("Could not send %r to %s recipients", subject, len(recipients))
        return 0


def _portal_link(site_url: str, work_order: WorkOrder) -> str:
    return site_url + reverse("workorders:detail", args=[work_order.pk])


def _admin_link(site_url: str, work_order: WorkOrder) -> str:
    return site_url + reverse("admin:workorders_workorder_change", args=[work_order.pk])


def send_submitted(*, work_order_id: int, site_url: str) -> int:
    work_order = WorkOrder.objects.select_related("manufacturer", "order").get(pk=work_order_id)
    return _send(
        recipients=staff_recipients(),
        subject=_("New work order %(number)s from %(manufacturer)s")
        % {"number": work_order.number, "manufacturer": work_order.manufacturer.name},
        template="workorders/email/submitted.txt",
        context={"work_order": work_order, "link": _admin_link(site_url, work_order)},
    )


def send_message(*, message_id: int, site_url: str) -> int:
    message = WorkOrderMessage.objects.select_related("work_order", "author").get(pk=message_id)
    work_order = message.work_order
    if message.from_staff:
        recipients = manufacturer_recipients(manufacturer_id=work_order.manufacturer_id)
        link = _portal_link(site_url, work_order)
        subject = _("Work order %(number)s: staff replied") % {"number": work_order.number}
    else:
        recipients = staff_recipients(assignee_id=work_order.assignee_id)
        link = _admin_link(site_url, work_order)
        subject = _("Work order %(number)s: the manufacturer replied") % {
            "number": work_order.number
        }
    return _send(
        recipients=recipients,
        subject=subject,
        template="workorders/email/message.txt",
        context={"work_order": work_order, "message": message, "link": link},
    )


def send_transition(*, transition_id: int, site_url: str) -> int:
    transition = WorkOrderTransition.objects.select_related("work_order").get(pk=transition_id)
    work_order = transition.work_order
    return _send(
        recipients=manufacturer_recipients(manufacturer_id=work_order.manufacturer_id),
        subject=_("Work order %(number)s is now %(status)s")
        % {"number": work_order.number, "status": transition.get_to_status_display()},
        template="workorders/email/transition.txt",
        context={
            "work_order": work_order,
            "transition": transition,
            "link": _portal_link(site_url, work_order),
        },
    )


def send_tool_attached(*, work_order_id: int, site_url: str) -> int:
    work_order = WorkOrder.objects.get(pk=work_order_id)
    return _send(
        recipients=manufacturer_recipients(manufacturer_id=work_order.manufacturer_id),
        subject=_("Work order %(number)s: the refurbishment tool is ready")
        % {"number": work_order.number},
        template="workorders/email/tool_attached.txt",
        context={"work_order": work_order, "link": _portal_link(site_url, work_order)},
    )


SENDERS: dict[str, Callable[[int, str], int]] = {
    "submitted": lambda pk, url: send_submitted(work_order_id=pk, site_url=url),
    "message": lambda pk, url: send_message(message_id=pk, site_url=url),
    "transition": lambda pk, url: send_transition(transition_id=pk, site_url=url),
    "tool_attached": lambda pk, url: send_tool_attached(work_order_id=pk, site_url=url),
}


def notification_send(*, kind: str, object_id: int, site_url: str) -> int:
    """Send the emails of one event; returns how many were sent."""
    return SENDERS[kind](object_id, site_url)
