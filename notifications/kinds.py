"""The kinds of notice, what each says, and who may switch it off.

Titles and bodies are formatted with the notice's ``params`` in the reader's language when
shown or sent, so a notice stored once reads right in English and in Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from audit.sentences import delivery_words
from workorders.models import WorkOrder


@dataclass(frozen=True)
class Kind:
    label: str | Promise  # on the Settings page
    title: str | Promise  # subject of the email, line of the notice; %(name)s from params
    body: str | Promise  # the email's sentence
    staff: bool = False  # shown to platform staff on the Settings page
    manufacturer: bool = True  # shown to manufacturers' users on the Settings page


FILE_READY = "token_file_ready"
FILE_FAILED = "token_file_failed"
WORK_ORDER_REPLIED = "work_order_replied"
WORK_ORDER_TOOL = "work_order_tool"
WORK_ORDER_STATUS = "work_order_status"
WORK_ORDER_SUBMITTED = "work_order_submitted"
WORK_ORDER_ANSWERED = "work_order_answered"

KINDS: dict[str, Kind] = {
    FILE_READY: Kind(
        label=_("A token file is ready"),
        title=_("Order %(order)s: the token file of %(delivery)s is ready"),
        body=_(
            "The token file of %(delivery)s on order %(order)s (%(tokens)s) is ready to download."
        ),
    ),
    FILE_FAILED: Kind(
        label=_("A token file could not be made"),
        title=_("Order %(order)s: the token file of %(delivery)s failed"),
        body=_(
            "The token file of %(delivery)s on order %(order)s (%(tokens)s) could not be "
            "made. Platform staff are told and will make it again."
        ),
        staff=True,
    ),
    WORK_ORDER_REPLIED: Kind(
        label=_("Staff replied to your work order"),
        title=_("Work order %(number)s: staff replied"),
        body=_("Platform staff replied to your work order %(number)s."),
    ),
    WORK_ORDER_TOOL: Kind(
        label=_("The refurbishment tool is attached to your work order"),
        title=_("Work order %(number)s: the refurbishment tool is ready"),
        body=_(
            "Platform staff attached the refurbishment tool to your work order %(number)s. "
            "Download it on the work order page, and confirm the work order once it works "
            "for you."
        ),
    ),
    WORK_ORDER_STATUS: Kind(
        label=_("Staff changed the status of your work order"),
        title=_("Work order %(number)s: the status is now “%(status)s”"),
        body=_("The status of your work order %(number)s is now “%(status)s”."),
    ),
    WORK_ORDER_SUBMITTED: Kind(
        label=_("A manufacturer submitted a work order"),
        title=_("New work order %(number)s from %(manufacturer)s"),
        body=_("%(manufacturer)s submitted work order %(number)s."),
        staff=True,
        manufacturer=False,
    ),
    WORK_ORDER_ANSWERED: Kind(
        label=_("A manufacturer replied to a work order"),
        title=_("Work order %(number)s: the manufacturer replied"),
        body=_("%(manufacturer)s replied to work order %(number)s."),
        staff=True,
        manufacturer=False,
    ),
}

CHANNELS = ("email", "portal")


def kinds_for(*, is_staff: bool) -> list[str]:
    """The kinds a user of this side may receive, in the Settings page's order."""
    return [code for code, kind in KINDS.items() if (kind.staff if is_staff else kind.manufacturer)]


def status_words(kind: str, params: dict[str, object]) -> str:
    """The work-order status code in ``params["status"]`` in the active language, in the words
    of the reader's side (staff: ``WorkOrder.STAFF_STATUS_LABELS``); "" when there is none."""
    code = str(params.get("status") or "")
    if code not in WorkOrder.Status.values:
        return code
    if KINDS[kind].staff and not KINDS[kind].manufacturer:
        return str(WorkOrder.STAFF_STATUS_LABELS[code])
    return str(WorkOrder.Status(code).label)


def notice_text(kind: str, template: str | Promise, params: dict[str, object]) -> str:
    """``template`` formatted with ``params`` in the active language (a work order's status
    code as its label, ``status_words``; a delivery number as ``new delivery N001`` or
    ``original delivery O002``, ``audit.sentences.delivery_words``; a quantity as ``%(tokens)s``,
    ``25 tokens``); a missing parameter reads as an empty string rather than failing a page or
    an email."""
    names = ("delivery", "order", "quantity", "number", "manufacturer", "tokens")
    values = {**dict.fromkeys(names, ""), **params, "status": status_words(kind, params)}
    if params.get("delivery"):
        values["delivery"] = delivery_words(str(params["delivery"]))
    quantity = params.get("quantity")
    if isinstance(quantity, int) and not isinstance(quantity, bool):
        values["tokens"] = ngettext("%(count)s token", "%(count)s tokens", quantity) % {
            "count": number_format(quantity, force_grouping=True)
        }
    return str(template) % values


def notice_details(kind: str, params: dict[str, object]) -> list[tuple[str, str]]:
    """The labelled lines an email adds under its sentence, in the active language: a work
    order's status, and for a submission its purchase order and contact."""
    lines: list[tuple[str, str]] = []
    if params.get("status"):
        lines.append((str(_("Status")), status_words(kind, params)))
    if kind == WORK_ORDER_SUBMITTED:
        if params.get("order"):
            lines.append((str(_("Purchase order")), str(params["order"])))
        if params.get("contact"):
            lines.append((str(_("Contact")), str(params["contact"])))
    return lines
