"""Audit events as sentences people read: one per action, in the reader's language.

``SENTENCES`` maps each action of ``audit.actions.ACTION_LABELS`` to a translatable template
with named ``%(name)s`` placeholders and, for each placeholder, where its value comes from (a
``Slot``): a value of the event's details, a code turned into words, an order, delivery or work
order number (a link where the reader may open it), or a row of another app found by the id the
details hold. ``sentences_render`` fills a whole page of events at once: it first asks every slot
which rows it needs, then reads each kind of row in one query (``Lookup``), so a page costs the
same few queries whatever its length.

The other apps sit above ``audit`` (tests/test_layers.py), so their rows are read through
``django.apps`` by label, never imported. A reference is shown only when it belongs to the
event's own manufacturer (or to staff): an id in a refused request's details may name another
company's order, and its number must not leak.
"""

from __future__ import annotations

import enum
import itertools
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.db.models import Model
from django.urls import reverse
from django.utils import formats
from django.utils.functional import Promise
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from audit.actions import action_label
from audit.models import AuditEvent
from refurb_portal.formats import list_join

EMPTY = "—"


class Viewer(enum.Enum):
    """Who reads: a manufacturer in the portal (links to portal pages), or staff in the admin."""

    PORTAL = "portal"
    ADMIN = "admin"


@dataclass(frozen=True)
class Part:
    """One placeholder's value: its text and, when the reader may open it, a link."""

    text: str
    url: str = ""

    def html(self) -> SafeString:
        if self.url:
            return format_html('<a href="{}">{}</a>', self.url, self.text)
        return conditional_escape(self.text)


@dataclass(frozen=True)
class Lookup:
    """Rows of another app read by id for a whole page: ``model`` ("app.Model"), the column
    shown, and the column that says whose row it is (to show it to its manufacturer only)."""

    model: str
    column: str
    owner: str = "manufacturer_id"


ORDER = Lookup("orders.PurchaseOrder", "number")
PRODUCT = Lookup("orders.Product", "name")
WORK_ORDER = Lookup("workorders.WorkOrder", "id")
USER = Lookup("accounts.User", "username")

# What a lookup found: for each lookup, id -> (shown value, owner id).
Found = Mapping[Lookup, Mapping[str, tuple[Any, Any]]]


@dataclass(frozen=True)
class Context:
    event: AuditEvent
    found: Found
    viewer: Viewer

    @property
    def details(self) -> dict[str, Any]:
        return self.event.details if isinstance(self.event.details, dict) else {}

    def get(self, key: str) -> Any:
        return self.details.get(key)

    def row(self, lookup: Lookup, key: Any) -> Any:
        """The shown value of a looked-up row, or None when missing or another company's."""
        if key in (None, ""):
            return None
        value, owner = self.found.get(lookup, {}).get(str(key), (None, None))
        if value is None:
            return None
        if self.viewer is Viewer.PORTAL and owner != self.event.manufacturer_id:
            return None
        return value


class Slot:
    """Where one placeholder's value comes from."""

    def wants(self, event: AuditEvent) -> Iterable[tuple[Lookup, Any]]:
        """The rows this slot needs for ``event``: (lookup, id)."""
        return ()

    def part(self, ctx: Context) -> Part:
        raise NotImplementedError


def _text(value: Any) -> str:
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, int):
        return formats.number_format(value, force_grouping=True)
    if isinstance(value, list | tuple):
        return list_join(_text(item) for item in value)
    return str(value)


@dataclass(frozen=True)
class Value(Slot):
    """A value of the details, as text (numbers grouped, lists joined)."""

    key: str

    def part(self, ctx: Context) -> Part:
        return Part(_text(ctx.get(self.key)))


@dataclass(frozen=True)
class FirstOf(Slot):
    """The first of the details' values that is set (a tool is a file or a link)."""

    keys: tuple[str, ...]

    def part(self, ctx: Context) -> Part:
        return Part(_text(next((ctx.get(k) for k in self.keys if ctx.get(k)), None)))


@dataclass(frozen=True)
class Count(Slot):
    """A count of the details with its noun in the right form: ``forms(n)`` is an ``ngettext``
    call with a ``%(count)s`` placeholder (``1 row``, ``25 rows``; one form in Chinese)."""

    key: str
    forms: Callable[[int], str]

    def part(self, ctx: Context) -> Part:
        value = ctx.get(self.key)
        if isinstance(value, bool) or not isinstance(value, int):
            return Part(_text(value))
        return Part(self.forms(value) % {"count": _text(value)})


@dataclass(frozen=True)
class Labels(Slot):
    """A list of codes of the details in words, joined as the language lists things."""

    key: str
    words: Callable[[Viewer], Mapping[Any, str | Promise]]

    def part(self, ctx: Context) -> Part:
        codes = ctx.get(self.key)
        if not isinstance(codes, list | tuple) or not codes:
            return Part(_text(codes))
        table = self.words(ctx.viewer)
        return Part(list_join(str(table.get(code, code)) for code in codes))


@dataclass(frozen=True)
class ObjectText(Slot):
    """The text of the event's object, as it was when recorded."""

    def part(self, ctx: Context) -> Part:
        return Part(ctx.event.object_repr or EMPTY)


@dataclass(frozen=True)
class Username(Slot):
    """The name the event was recorded under (a failed log in's typed name included)."""

    def part(self, ctx: Context) -> Part:
        return Part(ctx.event.actor_username or EMPTY)


@dataclass(frozen=True)
class Choice(Slot):
    """A code of the details in words; ``words`` is a table or a function giving one (read
    when rendering, so that it may come from another app's model)."""

    key: str
    words: Mapping[Any, str | Promise] | Callable[[Viewer], Mapping[Any, str | Promise]]

    def part(self, ctx: Context) -> Part:
        code = ctx.get(self.key)
        table = self.words(ctx.viewer) if callable(self.words) else self.words
        word = table.get(code)
        return Part(str(word) if word is not None else _text(code))


def _order_url(number: str, viewer: Viewer) -> str:
    """Where an order opens: its order page in the portal, its row in the admin."""
    if viewer is Viewer.ADMIN:
        return f"{reverse('admin:orders_purchaseorder_changelist')}?q={number}"
    return reverse("orders:order_detail", kwargs={"number": number})


@dataclass(frozen=True)
class Order(Slot):
    """An order by the number in ``key``, by the id in ``id_key`` (looked up), or the event's
    object (``from_object``: the order itself, whose text is its number)."""

    key: str = "order"
    id_key: str = ""
    from_object: bool = False

    def wants(self, event: AuditEvent) -> Iterable[tuple[Lookup, Any]]:
        if self.id_key and isinstance(event.details, dict):
            yield ORDER, event.details.get(self.id_key)

    def part(self, ctx: Context) -> Part:
        if self.from_object:
            number = ctx.event.object_repr
        elif self.id_key:
            number = ctx.row(ORDER, ctx.get(self.id_key))
        else:
            number = ctx.get(self.key)
        if not number:
            return Part(EMPTY)
        return Part(str(number), _order_url(str(number), ctx.viewer))


def delivery_words(number: str) -> str:
    """A delivery named by its number in the active language: ``original delivery O002`` for
    an original delivery (its number begins with ``O``), ``new delivery N001`` otherwise
    (``tokens.models.TokenFile.delivery_label``, docs/token-files.md)."""
    if number.startswith("O"):
        return gettext("original delivery %(number)s") % {"number": number}
    return gettext("new delivery %(number)s") % {"number": number}


@dataclass(frozen=True)
class Delivery(Slot):
    """A delivery by its number, said as what it is: ``new delivery N001`` (linked to its
    order's new deliveries) or ``original delivery O002`` (linked to its order), told apart by
    the number's letter (``tokens.models.TokenFile.delivery_label``, docs/token-files.md)."""

    key: str = "delivery"
    order_key: str = "order"

    def part(self, ctx: Context) -> Part:
        number, order = ctx.get(self.key), ctx.get(self.order_key)
        if not number:
            return Part(EMPTY)
        text = delivery_words(str(number))
        if str(number).startswith("O"):
            return Part(text, _order_url(str(order), ctx.viewer) if order else "")
        if not order:
            return Part(text)
        if ctx.viewer is Viewer.ADMIN:
            url = f"{reverse('admin:deliveries_newdelivery_changelist')}?q={order}"
        else:
            url = reverse("deliveries:order_delivery_list", kwargs={"number": order})
        return Part(text, url)


def _work_order_part(pk: Any, viewer: Viewer) -> Part:
    try:
        number = int(pk)
    except (TypeError, ValueError):
        return Part(EMPTY)
    if viewer is Viewer.ADMIN:
        url = reverse("admin:workorders_workorder_change", args=[number])
    else:
        url = reverse("workorders:detail", kwargs={"pk": number})
    return Part(f"WO-{number:06d}", url)


@dataclass(frozen=True)
class WorkOrder(Slot):
    """The event's work order (its object), or one by the id in ``id_key`` (looked up, to show
    it only to its manufacturer)."""

    id_key: str = ""

    def wants(self, event: AuditEvent) -> Iterable[tuple[Lookup, Any]]:
        if self.id_key and isinstance(event.details, dict):
            yield WORK_ORDER, event.details.get(self.id_key)

    def part(self, ctx: Context) -> Part:
        if self.id_key:
            return _work_order_part(ctx.row(WORK_ORDER, ctx.get(self.id_key)), ctx.viewer)
        return _work_order_part(ctx.event.object_id, ctx.viewer)


@dataclass(frozen=True)
class Row(Slot):
    """A column of another app's row whose id is in the details (a product's name, a user's
    name); ``fallback`` is a details key with the text to show when the row is gone."""

    lookup: Lookup
    key: str
    fallback: str = ""

    def wants(self, event: AuditEvent) -> Iterable[tuple[Lookup, Any]]:
        if isinstance(event.details, dict):
            yield self.lookup, event.details.get(self.key)

    def part(self, ctx: Context) -> Part:
        value = ctx.row(self.lookup, ctx.get(self.key))
        if value is None and self.fallback:
            value = ctx.get(self.fallback)
        return Part(_text(value))


@dataclass(frozen=True)
class ModelName(Slot):
    """The kind of the event's object, in words (``orders.PurchaseOrder`` -> purchase order)."""

    def part(self, ctx: Context) -> Part:
        try:
            model = apps.get_model(ctx.event.object_type)
        except (LookupError, ValueError):
            return Part(ctx.event.object_type or EMPTY)
        return Part(str(model._meta.verbose_name))


@dataclass(frozen=True)
class AdminChange(Slot):
    """What staff changed, in the words of the admin's own history (``LogEntry``)."""

    def part(self, ctx: Context) -> Part:
        change = ctx.get("change")
        if not change:
            return Part(EMPTY)
        message = change if isinstance(change, str) else json.dumps(change)
        return Part(LogEntry(change_message=message).get_change_message() or EMPTY)


def _status_words(viewer: Viewer) -> Mapping[Any, str | Promise]:
    """Work-order statuses as the reader says them: staff read their own wording."""
    work_order = apps.get_model("workorders", "WorkOrder")
    if viewer is Viewer.ADMIN:
        return dict(work_order.STAFF_STATUS_LABELS)
    return dict(work_order.Status.choices)


def _work_order_types(viewer: Viewer) -> Mapping[Any, str | Promise]:
    return dict(apps.get_model("workorders", "WorkOrder").Type.choices)


def _channels(viewer: Viewer) -> Mapping[Any, str | Promise]:
    return dict(apps.get_model("tokens", "TokenDownload").Channel.choices)


def _roles(viewer: Viewer) -> Mapping[Any, str | Promise]:
    return dict(apps.get_model("accounts", "User").Role.choices)


def _webhook_events(viewer: Viewer) -> Mapping[Any, str | Promise]:
    """Webhook event types as the webhook pages name them (``webhooks.models.EVENT_TYPES``)."""
    return cast(
        "Mapping[Any, str | Promise]", apps.get_model("webhooks", "WebhookEndpoint").EVENT_TYPES
    )


def _api_scopes(viewer: Viewer) -> Mapping[Any, str | Promise]:
    """An API key's permissions as the key pages name them (``api.models.ApiKey.Scope``)."""
    return dict(apps.get_model("api", "ApiKey").Scope.choices)


# Why a new delivery was refused, as the manufacturer reads it in its Activity (the codes of
# deliveries.errors.DeliveryError that a take can raise; tests/audit/test_sentences.py checks).
REFUSAL_REASONS: dict[str, str | Promise] = {
    "order_not_eligible": _("the order has no delivered modules or tokens"),
    "nothing_available": _("all delivered tokens are used"),
    "role_forbidden": _("the user's role may not take new deliveries"),
    "old_uuids_too_long": _("the list of old UUIDs was too long"),
    "old_uuids_unreadable": _("the file of old UUIDs could not be read"),
    "old_uuids_empty": _("the list of old UUIDs held no UUID"),
    "old_uuids_unsupported": _("lists of old UUIDs need PostgreSQL"),
    "old_uuids_expired": _("the list of old UUIDs was no longer available"),
    "old_uuids_problems": _("lines of the list of old UUIDs had problems"),
    "old_uuids_changed": _("another delivery replaced tokens of the list meanwhile"),
    "product_not_eligible": _("the new tokens of this order do not apply to that product"),
    "no_eligible_product": _("none of the company's products is one this order applies to"),
    "quantity_not_positive": _("the quantity was not a whole number of at least 1"),
    "quantity_exceeds_available": _("more new tokens were asked for than are available"),
    "key_reused": _("the same form was sent again with a different product or quantity"),
    "busy": _("the order was being changed by someone else at that moment"),
}
SESSION_END_REASONS: dict[str, str | Promise] = {
    "idle": _("no activity for too long"),
    "absolute": _("it reached its longest allowed time"),
}
TWO_FACTOR_METHODS: dict[str, str | Promise] = {
    "authenticator": _("authenticator app"),
    "recovery_code": _("recovery code"),
}
LIMITED_ACTIONS: dict[str, str | Promise] = {
    "delivery.take": _("new delivery"),
    "tokens.download": _("token file download"),
}
LIMIT_SUBJECTS: dict[str, str | Promise] = {
    "user": _("user"),
    "manufacturer": _("company"),
}
FILE_FORMATS: dict[str, str | Promise] = {"csv": "CSV", "xlsx": "Excel (.xlsx)"}
# How a revocation list was fetched: a file of the portal or admin, or pages of the API (JSON).
REVOCATION_LIST_WAYS: dict[str, str | Promise] = {
    "csv": _("as a CSV file"),
    "xlsx": _("as an Excel (.xlsx) file"),
    "json": _("through the API"),
}


@dataclass(frozen=True)
class Sentence:
    """A translatable template and the slot of each of its placeholders; ``unknown`` holds,
    for a placeholder whose value may be missing (a refused request's product), the sentence
    said without it."""

    template: str | Promise
    slots: dict[str, Slot] = field(default_factory=dict)
    unknown: dict[str, Sentence] = field(default_factory=dict)


def _s(template: str | Promise, **slots: Slot) -> Sentence:
    return Sentence(template, slots)


def _new_tokens(n: int) -> str:
    return ngettext("%(count)s new token", "%(count)s new tokens", n)


def _attachments(n: int) -> str:
    return ngettext("%(count)s attachment", "%(count)s attachments", n)


# The new delivery and its order that most token and delivery events name.
ON_A_DELIVERY: dict[str, Slot] = {"delivery": Delivery(), "order": Order()}

SENTENCES: dict[str, Sentence] = {
    "auth.logged_in": _s(_("Logged in.")),
    "auth.logged_out": _s(_("Logged out.")),
    "auth.password_reset_requested": _s(_("Asked for a password reset link by email.")),
    "auth.password_reset_done": _s(_("Set a new password with a reset link.")),
    "accounts.time_zone_set": _s(
        _("Time zone set to %(zone)s (before: %(before)s)."),
        zone=Value("to"),
        before=Value("from"),
    ),
    "notifications.preferences_changed": _s(_("Changed the notification settings.")),
    "team.invited": _s(
        _("Invited %(email)s as %(role)s."), email=Value("email"), role=Choice("role", _roles)
    ),
    "team.invitation_withdrawn": _s(
        _("Withdrew the invitation of %(email)s."), email=Value("email")
    ),
    "team.invitation_accepted": _s(
        _("%(email)s accepted the invitation and joined as %(role)s."),
        email=Value("email"),
        role=Choice("role", _roles),
    ),
    "team.role_changed": _s(
        _("Changed the role of %(user)s from %(before)s to %(after)s."),
        user=Value("user"),
        before=Choice("from", _roles),
        after=Choice("to", _roles),
    ),
    "team.deactivated": _s(_("Deactivated the account of %(user)s."), user=Value("user")),
    "team.company_settings_changed": _s(
        _("Changed the company settings: time zone %(zone)s; a notification address: %(address)s."),
        zone=Value("time_zone"),
        address=Value("notification_address"),
    ),
    "team.two_factor_required": _s(_("Required two-factor authentication for the company.")),
    "team.two_factor_optional": _s(_("Made two-factor authentication optional for the company.")),
    "auth.login_failed": _s(_("A log in as %(username)s failed."), username=Username()),
    "auth.locked_out": _s(
        _("A log in as %(username)s was refused: locked out after repeated failures."),
        username=Username(),
    ),
    "auth.address_throttled": _s(
        _("Log ins from this address were refused: %(failures)s within %(seconds)s."),
        failures=Count(
            "failures", lambda n: ngettext("%(count)s failure", "%(count)s failures", n)
        ),
        seconds=Count(
            "window_seconds", lambda n: ngettext("%(count)s second", "%(count)s seconds", n)
        ),
    ),
    "auth.session_expired": _s(
        _("The session ended: %(reason)s."), reason=Choice("reason", SESSION_END_REASONS)
    ),
    "auth.sessions_ended": _s(
        _("Ended %(sessions)s of %(user)s: the user was deactivated."),
        sessions=Count(
            "sessions", lambda n: ngettext("%(count)s session", "%(count)s sessions", n)
        ),
        user=ObjectText(),
    ),
    "auth.two_factor_enrolled": _s(_("Set up two-factor authentication.")),
    "auth.two_factor_verified": _s(
        _("Two-factor code accepted (%(method)s)."),
        method=Choice("method", TWO_FACTOR_METHODS),
    ),
    "auth.two_factor_failed": _s(_("A two-factor code was refused.")),
    "auth.recovery_codes_replaced": _s(_("Replaced the recovery codes.")),
    "ratelimit.exceeded": _s(
        _(
            "Refused: %(limited)s requests went over the limit of %(limit)s per %(per)s "
            "within %(seconds)s."
        ),
        limit=Value("limit"),
        limited=Choice("limited", LIMITED_ACTIONS),
        per=Choice("per", LIMIT_SUBJECTS),
        seconds=Count(
            "window_seconds", lambda n: ngettext("%(count)s second", "%(count)s seconds", n)
        ),
    ),
    "admin.added": _s(
        _("Added the %(kind)s %(object)s in the admin."), kind=ModelName(), object=ObjectText()
    ),
    "admin.changed": _s(
        _("Changed the %(kind)s %(object)s in the admin: %(change)s"),
        kind=ModelName(),
        object=ObjectText(),
        change=AdminChange(),
    ),
    "admin.deleted": _s(
        _("Deleted the %(kind)s %(object)s in the admin."), kind=ModelName(), object=ObjectText()
    ),
    "original_delivery.recorded": _s(
        _("Recorded an original delivery of %(quantity)s on order %(order)s."),
        quantity=Value("quantity"),
        order=Order(from_object=True),
    ),
    "original_delivery.reversed": _s(
        _(
            "Reversed an original delivery of %(quantity)s on order %(order)s (delivered: "
            "%(before)s, now %(after)s). Reason: %(reason)s"
        ),
        quantity=Value("quantity"),
        order=Order(),
        before=Value("delivered_before"),
        after=Value("delivered_after"),
        reason=Value("reason"),
    ),
    "delivery.taken": _s(
        _(
            "Took %(delivery)s on order %(order)s: %(quantity)s of %(product)s (available: "
            "%(before)s, now %(after)s)."
        ),
        **ON_A_DELIVERY,
        quantity=Count("quantity", _new_tokens),
        product=Row(PRODUCT, "product_id"),
        before=Value("available_before"),
        after=Value("available_after"),
    ),
    "delivery.refused": Sentence(
        _(
            "A new delivery of %(quantity)s of %(product)s on order %(order)s was refused: "
            "%(reason)s."
        ),
        {
            "quantity": Count("quantity", _new_tokens),
            "product": Row(PRODUCT, "product_id"),
            "order": Order(id_key="order_id"),
            "reason": Choice("reason", REFUSAL_REASONS),
        },
        unknown={
            "product": _s(
                _("A new delivery of %(quantity)s on order %(order)s was refused: %(reason)s."),
                quantity=Count("quantity", _new_tokens),
                order=Order(id_key="order_id"),
                reason=Choice("reason", REFUSAL_REASONS),
            )
        },
    ),
    "delivery.voided": _s(
        _(
            "Voided %(delivery)s on order %(order)s: %(quantity)s available again. "
            "Reason: %(reason)s"
        ),
        **ON_A_DELIVERY,
        quantity=Count("quantity", _new_tokens),
        reason=Value("reason"),
    ),
    "tokens.file_ready": _s(
        _("The token file of %(delivery)s on order %(order)s is ready: %(rows)s."),
        **ON_A_DELIVERY,
        rows=Count("rows", lambda n: ngettext("%(count)s row", "%(count)s rows", n)),
    ),
    "tokens.file_failed": _s(
        _("The token file of %(delivery)s on order %(order)s failed: %(reason)s"),
        **ON_A_DELIVERY,
        reason=Value("reason"),
    ),
    "tokens.file_retried": _s(
        _("The token file %(file)s was queued again after it failed: %(error)s"),
        file=ObjectText(),
        error=Value("previous_error"),
    ),
    "tokens.downloaded": _s(
        _(
            "Downloaded the token file of %(delivery)s on order %(order)s as %(format)s "
            "(%(channel)s)."
        ),
        **ON_A_DELIVERY,
        format=Choice("format", FILE_FORMATS),
        channel=Choice("channel", _channels),
    ),
    "tokens.looked_up": _s(
        _("Looked up %(asked)s; %(found)s."),
        asked=Count("asked", lambda n: ngettext("%(count)s token ID", "%(count)s token IDs", n)),
        found=Count("found", lambda n: ngettext("%(count)s was found", "%(count)s were found", n)),
    ),
    "tokens.revocation_list": _s(
        _("Downloaded the revocation list of %(first)s to %(last)s %(way)s."),
        first=Value("from"),
        last=Value("to"),
        way=Choice("format", REVOCATION_LIST_WAYS),
    ),
    "tokens.file_archived": _s(
        _(
            "The token file of %(delivery)s on order %(order)s was archived after %(days)s "
            "unused; its tokens are kept and a download makes it again."
        ),
        **ON_A_DELIVERY,
        days=Count("days", lambda n: ngettext("%(count)s day", "%(count)s days", n)),
    ),
    "tokens.file_restored": _s(
        _(
            "The archived token file of %(delivery)s on order %(order)s was made again from "
            "its tokens, byte for byte."
        ),
        **ON_A_DELIVERY,
    ),
    "tokens.workbooks_made": _s(
        _("Made the Excel (.xlsx) License List of %(delivery)s on order %(order)s."),
        **ON_A_DELIVERY,
    ),
    "workorders.submitted": _s(
        _("Submitted work order %(work_order)s (%(type)s) with %(attachments)s."),
        work_order=WorkOrder(),
        type=Choice("type", _work_order_types),
        attachments=Count("attachments", _attachments),
    ),
    "workorders.replied": _s(
        _("Replied on work order %(work_order)s with %(attachments)s."),
        work_order=WorkOrder(),
        attachments=Count("attachments", _attachments),
    ),
    "workorders.status_changed": _s(
        _("Work order %(work_order)s: status changed from %(from)s to %(to)s."),
        work_order=WorkOrder(),
        **{"from": Choice("from", _status_words), "to": Choice("to", _status_words)},
    ),
    "workorders.transition_refused": _s(
        _("Work order %(work_order)s: a change from %(from)s to %(to)s was refused."),
        work_order=WorkOrder(id_key="work_order_id"),
        **{"from": Choice("from", _status_words), "to": Choice("to", _status_words)},
    ),
    "workorders.assigned": _s(
        _("Work order %(work_order)s assigned to %(to)s (before: %(from)s)."),
        work_order=WorkOrder(),
        to=Value("to_username"),
        **{"from": Row(USER, "from")},
    ),
    "workorders.tool_attached": _s(
        _("Attached the refurbishment tool %(file)s to work order %(work_order)s."),
        file=FirstOf(("file", "link")),
        work_order=WorkOrder(),
    ),
    "workorders.tool_downloaded": _s(
        _("Downloaded the refurbishment tool %(file)s of work order %(work_order)s."),
        file=FirstOf(("file", "link")),
        work_order=WorkOrder(),
    ),
    "workorders.attachment_downloaded": _s(
        _("Downloaded the attachment %(file)s of work order %(work_order)s."),
        file=Value("file"),
        work_order=WorkOrder(),
    ),
    "api_key.created": _s(
        _("Made the API key %(prefix)s (permissions: %(scopes)s)."),
        prefix=Value("prefix"),
        scopes=Labels("scopes", _api_scopes),
    ),
    "api_key.revoked": _s(
        _("Revoked the API key %(prefix)s (%(name)s)."), prefix=Value("prefix"), name=Value("name")
    ),
    "webhook.endpoint_created": _s(
        _("Added the webhook endpoint %(url)s (events: %(events)s)."),
        url=Value("url"),
        events=Labels("events", _webhook_events),
    ),
    "webhook.endpoint_deleted": _s(_("Removed the webhook endpoint %(url)s."), url=Value("url")),
    "webhook.endpoint_disabled": _s(
        _("Disabled the webhook endpoint %(url)s: every event sent to it failed for a day."),
        url=Value("url"),
    ),
    "webhook.endpoint_enabled": _s(
        _("Enabled the webhook endpoint %(endpoint)s again."), endpoint=ObjectText()
    ),
    "webhook.resent": _s(
        _("Sent the webhook message %(message)s again: %(event)s."),
        event=Choice("event", _webhook_events),
        message=Value("msg_id"),
    ),
}


@dataclass(frozen=True)
class Rendered:
    """An event's sentence: ``text`` for files, ``html`` (escaped, with links) for pages."""

    text: str
    html: SafeString


def _lookups(events: Sequence[AuditEvent]) -> Found:
    """Every row the events' sentences refer to: one query per kind of row."""
    wanted: dict[Lookup, set[str]] = defaultdict(set)
    for event in events:
        sentence = SENTENCES.get(event.action)
        for slot in sentence.slots.values() if sentence else ():
            for lookup, key in slot.wants(event):
                if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                    wanted[lookup].add(str(key))
    found: dict[Lookup, dict[str, tuple[Any, Any]]] = {}
    for lookup, keys in wanted.items():
        model: type[Model] = apps.get_model(lookup.model)
        rows = model._default_manager.filter(pk__in=sorted(keys, key=int)).values_list(
            "pk", lookup.column, lookup.owner
        )
        found[lookup] = {str(pk): (value, owner) for pk, value, owner in rows}
    return found


def _render(ctx: Context) -> Rendered:
    sentence = SENTENCES.get(ctx.event.action)
    if sentence is None:
        label = action_label(ctx.event.action)
        return Rendered(label, conditional_escape(label))
    parts = {name: slot.part(ctx) for name, slot in sentence.slots.items()}
    for name, instead in sentence.unknown.items():
        if parts[name].text == EMPTY:
            sentence = instead
            parts = {name: slot.part(ctx) for name, slot in sentence.slots.items()}
            break
    template = str(sentence.template)
    if not parts:
        return Rendered(template, conditional_escape(template))
    # Link parts add their own safe HTML; the template's own text is escaped first.
    html = str(conditional_escape(template)) % {name: part.html() for name, part in parts.items()}
    text = template % {name: part.text for name, part in parts.items()}
    return Rendered(text, mark_safe(html))  # noqa: S308 - escaped above, parts escape themselves


def sentences_render(events: Sequence[AuditEvent], *, viewer: Viewer) -> list[Rendered]:
    """The sentence of each of ``events``, in order, in the active language.

    The rows they refer to are read first, one query per kind (orders, products, users, work
    orders), whatever the number of events. An action without a sentence shows its label.
    """
    found = _lookups(events)
    return [_render(Context(event, found, viewer)) for event in events]


def sentences_attach(events: Sequence[AuditEvent], *, viewer: Viewer) -> None:
    """Set ``event.sentence`` (a ``Rendered``) and ``event.label`` on each of ``events``."""
    for event, rendered in zip(events, sentences_render(events, viewer=viewer), strict=True):
        event.sentence = rendered  # type: ignore[attr-defined]
        event.label = action_label(event.action)  # type: ignore[attr-defined]


def sentences_stream(
    events: Iterable[AuditEvent], *, viewer: Viewer, batch: int = 2000
) -> Iterator[tuple[AuditEvent, Rendered]]:
    """Each of ``events`` with its sentence, read ``batch`` events at a time: for an export of
    any length, memory holds one batch and its lookups (one query per kind per batch). Pass a
    queryset's ``.iterator(chunk_size=batch)``."""
    for chunk in itertools.batched(events, batch):
        yield from zip(chunk, sentences_render(chunk, viewer=viewer), strict=True)
