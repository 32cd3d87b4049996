"""Admin building blocks shared by the apps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from refurb_portal.errors import DomainError


class ReadOnlyAdmin[M: models.Model](admin.ModelAdmin[M]):
    """For records that only services write (deliveries, tokens, audit): staff look, never edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ServiceChangeAdmin[M: models.Model](admin.ModelAdmin[M]):
    """A change form whose saves go through the model's service (rule R13).

    The admin's whole change view is one transaction (``ModelAdmin.changeform_view``). The form's
    ``clean`` calls ``service_check``, which locks the row and checks the change against what
    the row holds now, turning a broken rule into a form error in the admin's language; the
    lock is held until the view's transaction ends, and ``save_model`` then hands only the
    changed fields to ``service_update``, which writes them with ``update_fields``. So a
    counter that a service raised while the page was open is never written back.

    Subclasses give ``service_check(pk=, values=, related=)``, ``service_update(...)`` (same
    arguments) and may give ``new_check(values=, related=)`` for the add form. ``values`` maps
    changed fields to their cleaned values; ``related`` changed many-to-many fields to ids.
    """

    def service_check(
        self, *, pk: int, values: dict[str, Any], related: dict[str, list[int]]
    ) -> None:
        raise NotImplementedError

    def service_update(
        self, *, pk: int, values: dict[str, Any], related: dict[str, list[int]]
    ) -> None:
        raise NotImplementedError

    def new_check(self, *, values: dict[str, Any], related: dict[str, list[int]]) -> None:
        """Checks of an add form (no row to lock yet); nothing by default."""

    @staticmethod
    def form_changes(form: forms.ModelForm[M]) -> tuple[dict[str, Any], dict[str, list[int]]]:
        """(changed plain fields -> values, changed many-to-many fields -> ids) of a clean form."""
        many = {field.name for field in form._meta.model._meta.many_to_many}
        values: dict[str, Any] = {}
        related: dict[str, list[int]] = {}
        for name in form.changed_data:
            if name not in form.cleaned_data:
                continue
            if name in many:
                related[name] = sorted(obj.pk for obj in form.cleaned_data[name])
            else:
                values[name] = form.cleaned_data[name]
        return values, related

    def get_form(
        self, request: HttpRequest, obj: M | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[M]]:
        base = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class ServiceForm(base):  # type: ignore[valid-type,misc]
            def clean(self) -> dict[str, Any]:
                cleaned: dict[str, Any] = super().clean()
                if self.errors:
                    return cleaned
                values, related = model_admin.form_changes(self)
                try:
                    if self.instance.pk is None:
                        model_admin.new_check(values=values, related=related)
                    else:
                        model_admin.service_check(
                            pk=self.instance.pk, values=values, related=related
                        )
                except DomainError as exc:
                    field = exc.field if exc.field in self.fields else None
                    self.add_error(field, exc.message)
                return cleaned

        return ServiceForm

    def save_model(
        self, request: HttpRequest, obj: M, form: forms.ModelForm[M], change: bool
    ) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        values, related = self.form_changes(form)
        self.service_update(pk=obj.pk, values=values, related=related)
        # What the admin shows and logs next is the row as saved, counters included.
        obj.refresh_from_db()

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm[M], formsets: Any, change: bool
    ) -> None:
        if not change:
            super().save_related(request, form, formsets, change)
            return
        # The many-to-many fields were written by service_update; inlines here are read-only.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept in the audit trail and shown to the manufacturer."),
    )


def reason_action[M: models.Model](
    model_admin: admin.ModelAdmin[M],
    request: HttpRequest,
    queryset: models.QuerySet[M],
    *,
    title: StrOrPromise,
    explanation: StrOrPromise,
    service: Callable[..., object],
    id_argument: str,
    done: Callable[[int], str],
) -> TemplateResponse | None:
    """An admin action that asks for a reason first (rule R14's corrections), then calls
    ``service(<id_argument>=obj.pk, user=, reason=, request=)`` for each selected row.

    The first POST (from the change list) answers a page with the reason form; its POST applies.
    A refusal (``DomainError``) of one row is a warning naming the row, never an error page;
    ``done(count)`` reports the rows that went through (a sentence whose noun follows the
    count: ``ngettext``).
    """
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        applied = 0
        for obj in queryset:
            try:
                service(
                    **{id_argument: obj.pk},
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            except DomainError as exc:
                model_admin.message_user(request, f"{obj}: {exc.message}", messages.WARNING)
            else:
                applied += 1
        if applied:
            model_admin.message_user(request, done(applied), messages.SUCCESS)
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "explanation": explanation,
        "objects": list(queryset),
        "form": form,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/reason_action.html", context)
