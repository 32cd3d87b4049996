"""The kinds of notice, what each says, and who may switch it off.

Titles and bodies are formatted with the notice's ``params`` in the reader's language when
shown or sent, so a notice stored once reads right in English and in Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


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

KINDS: dict[str, Kind] = {
    FILE_READY: Kind(
        label=_("A token file is ready"),
        title=_("Token file of new delivery %(delivery)s is ready"),
        body=_(
            "The token file of new delivery %(delivery)s (order %(order)s, %(quantity)s "
            "tokens) is ready to download."
        ),
    ),
    FILE_FAILED: Kind(
        label=_("A token file could not be made"),
        title=_("Token file of new delivery %(delivery)s failed"),
        body=_(
            "The token file of new delivery %(delivery)s (order %(order)s, %(quantity)s "
            "tokens) could not be made. Platform staff are told and will make it again."
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
        body=_("Platform staff attached the refurbishment tool to your work order %(number)s."),
    ),
}

CHANNELS = ("email", "portal")


def kinds_for(*, is_staff: bool) -> list[str]:
    """The kinds a user of this side may receive, in the Settings page's order."""
    return [code for code, kind in KINDS.items() if (kind.staff if is_staff else kind.manufacturer)]


def notice_text(kind: str, template: str | Promise, params: dict[str, object]) -> str:
    """``template`` formatted with ``params`` in the active language; a missing parameter
    reads as an empty string rather than failing a page or an email."""
    values = {**dict.fromkeys(("delivery", "order", "quantity", "number"), ""), **params}
    return str(template) % values
