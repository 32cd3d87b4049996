from __future__ import annotations

import uuid
from typing import Any, ClassVar, Self

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from accounts.models import Manufacturer, User
from workorders import files
from workorders.errors import WorkOrderError
from workorders.models import WorkOrder
from workorders.selectors import manufacturer_orders
from workorders.transitions import Side, allowed_targets


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to a list (empty when none were chosen)."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single_clean = super().clean
        if isinstance(data, list | tuple):
            return [single_clean(item, initial) for item in data if item]
        return [single_clean(data, initial)] if data else []


def attachments_field() -> MultipleFileField:
    return MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("Optional. Up to %(count)s files of at most %(size)s each: %(types)s.")
        % {
            "count": files.attachment_max_files(),
            "size": filesizeformat(files.attachment_max_bytes()),
            "types": files.accepted_extensions_text(),
        },
        widget=MultipleFileInput(attrs={"accept": ",".join(files.ACCEPTED_ATTACHMENT_TYPES)}),
    )


def replay_key_field() -> forms.UUIDField:
    """A hidden key made when the form is rendered: the service acts once per key, so a double
    click or a resent request does not act twice."""
    return forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("This form has expired. Reload the page and submit again."),
            "invalid": _("This form has expired. Reload the page and submit again."),
        },
    )


class ReplayKeyMixin(forms.Form):
    """A form whose field ``key_name`` (a ``replay_key_field``) gets a new key each time the
    form is rendered unbound."""

    key_name: ClassVar[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault(self.key_name, uuid.uuid4())

    @classmethod
    def refused_as_replay(cls, message: str) -> Self:
        """A new unbound form (so a new key: the next try is not refused again) that shows
        ``message`` above its fields: the answer to a form sent a second time."""
        form = cls()
        form.errors[NON_FIELD_ERRORS] = form.error_class([message])
        return form


# How many of the company's newest orders the order field suggests as it is typed in.
ORDER_SUGGESTIONS = 50


class OrderNumberInput(forms.TextInput):
    """A text input for an order number, with a ``<datalist>`` of suggestions (the browser
    offers them as the number is typed); the form sets ``suggestions``."""

    template_name = "workorders/widgets/order_number.html"
    suggestions: list[str]

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"autocomplete": "off", "spellcheck": "false", **(attrs or {})})
        self.suggestions = []

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        widget["attrs"]["list"] = f"{widget['attrs'].get('id') or name}-suggestions"
        widget["suggestions"] = self.suggestions
        return context


class OrderNumberField(forms.CharField):
    """One of the company's orders by its number (any case, spaces around ignored), or None
    when left empty. Typed, not chosen from a list: a company may have 100,000 orders, and a
    select of all of them made the page megabytes long. The form sets ``queryset``."""

    widget = OrderNumberInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=40, **kwargs)
        self.queryset: Any = None

    def clean(self, value: Any) -> Any:
        number = super().clean(value)
        if not number:
            return None
        order = self.queryset.filter(number__iexact=number).first()
        if order is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return order


class WorkOrderForm(forms.Form):
    """Submit a work order. ``order`` takes an order number and only the user's own orders."""

    type = forms.ChoiceField(
        label=_("Type"),
        choices=WorkOrder.Type.choices,
        initial=WorkOrder.Type.TOOL,
        widget=forms.RadioSelect,
    )
    order = OrderNumberField(
        label=_("Purchase order"),
        required=False,
        help_text=_("Its number, if the work order is about one; your newest are suggested."),
        error_messages={"invalid_choice": WorkOrderError.messages["order_not_own"]},
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": WorkOrderError.messages["description_empty"]},
    )
    contact = forms.CharField(
        label=_("Contact"),
        max_length=200,
        help_text=_("A name and phone number or email address staff can reach you at."),
        error_messages={"required": WorkOrderError.messages["contact_empty"]},
    )
    attachments = attachments_field()
    submission_key = replay_key_field()

    def __init__(self, *args: Any, manufacturer: Manufacturer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        orders = manufacturer_orders(manufacturer=manufacturer)
        field = self.fields["order"]
        field.queryset = orders  # type: ignore[attr-defined]
        field.widget.suggestions = list(orders.values_list("number", flat=True)[:ORDER_SUGGESTIONS])
        self.fields["attachments"] = attachments_field()
        if not self.is_bound:
            self.initial.setdefault("submission_key", uuid.uuid4())


def submit_initial(*, query: dict[str, str], user: User) -> dict[str, object]:
    """The submit form's initial values from ``?type=tool&order=<number>`` and the user."""
    initial: dict[str, object] = {
        "contact": " ".join(filter(None, [user.get_full_name(), user.email])) or user.username
    }
    if query.get("type") in WorkOrder.Type.values:
        initial["type"] = query["type"]
    if query.get("order") and user.manufacturer is not None:
        order = manufacturer_orders(manufacturer=user.manufacturer).filter(number=query["order"])
        if order.exists():
            initial["order"] = query["order"]
    if initial.get("type") == WorkOrder.Type.TOOL:
        initial["description"] = _(
            "Please send us the refurbishment tool, to burn the new tokens into our inventory "
            "modules."
        )
    return initial


class ReplyForm(ReplayKeyMixin, forms.Form):
    key_name = "reply_key"
    reply_key = replay_key_field()
    body = forms.CharField(
        label=_("Your reply"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": WorkOrderError.messages["reply_empty"]},
    )
    attachments = attachments_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"] = attachments_field()


class WorkOrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *WorkOrder.Status.choices],
    )


# --- Staff forms (admin) ---------------------------------------------------------------------


def staff_status_choices(work_order: WorkOrder) -> list[tuple[str, str]]:
    return [
        (status, str(WorkOrder.Status(status).label))
        for status in allowed_targets(from_status=work_order.status, side=Side.STAFF)
    ]


# The status selects offer only the allowed targets (``staff_status_choices``), but accept any
# status, so that the service, not the form, refuses what the table does not allow, with the
# same message wherever the request came from.


class StaffReplyForm(ReplayKeyMixin, forms.Form):
    key_name = "reply_key"
    reply_key = replay_key_field()
    body = forms.CharField(
        label=_("Reply"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        error_messages={"required": WorkOrderError.messages["reply_empty"]},
    )
    to_status = forms.ChoiceField(
        label=_("and set the status to"),
        required=False,
        choices=[("", _("(keep the status)")), *WorkOrder.Status.choices],
    )


class StaffTransitionForm(forms.Form):
    to_status = forms.ChoiceField(label=_("New status"), choices=WorkOrder.Status.choices)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assign to"),
        queryset=User.objects.filter(is_staff=True, is_active=True).order_by("username"),
        required=False,
        empty_label=_("(no one)"),
    )


class ToolForm(ReplayKeyMixin, forms.Form):
    key_name = "tool_key"
    tool_key = replay_key_field()
    tool_file = forms.FileField(label=_("Tool file"), required=False)
    tool_link = forms.URLField(
        label=_("or a link to it"), required=False, max_length=500, assume_scheme="https"
    )
