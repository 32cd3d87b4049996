"""Submit an admin change form as a browser would: the fields it shows, with their values."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

# Hidden bookkeeping of the admin, not a field people edit.
NOT_EDITABLE = ("csrfmiddlewaretoken", "-TOTAL_FORMS", "-INITIAL_FORMS", "-MIN_NUM_FORMS")
NOT_EDITABLE_TOO = ("-MAX_NUM_FORMS", "_save", "_continue", "_addanother", "initial-")


@dataclass
class Field:
    name: str
    kind: str  # text, number, checkbox, select, select-multiple, textarea, hidden, file, ...
    values: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)

    @property
    def editable(self) -> bool:
        return self.kind not in {"hidden", "submit", "file"} and not any(
            part in self.name for part in NOT_EDITABLE + NOT_EDITABLE_TOO
        )


class _FormParser(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, Field] = {}
        self._select: Field | None = None
        self._option: str | None = None
        self._option_selected = False
        self._textarea: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form" and attr.get("id") == self.form_id:
            self.inside = True
        if not self.inside or ("name" not in attr and tag != "option"):
            return
        if tag == "input":
            kind = attr.get("type", "text")
            entry = self.fields.setdefault(attr["name"], Field(attr["name"], kind))
            if kind == "checkbox":
                if "checked" in attr:
                    entry.values.append(attr.get("value", "on"))
            elif kind != "submit":
                entry.values.append(attr.get("value", ""))
        elif tag == "select":
            kind = "select-multiple" if "multiple" in attr else "select"
            self._select = self.fields.setdefault(attr["name"], Field(attr["name"], kind))
        elif tag == "option" and self._select is not None:
            self._option = attr.get("value", "")
            self._select.options.append(self._option)
            if "selected" in attr:
                self._select.values.append(self._option)
        elif tag == "textarea":
            self._textarea = self.fields.setdefault(
                attr["name"], Field(attr["name"], "textarea", [""])
            )

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.values[0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_fields(html: str, form_id: str) -> dict[str, Field]:
    """The fields of the form ``form_id`` in ``html``, with what a browser would send."""
    parser = _FormParser(form_id)
    parser.feed(html)
    return parser.fields


def form_data(fields: dict[str, Field]) -> dict[str, list[str]]:
    return {name: list(entry.values) for name, entry in fields.items() if entry.values}


def changed_values(entry: Field) -> list[list[str]]:
    """Values to try for one editable field: each differs from what it holds, some valid and
    some not (the admin must answer every one without an error page)."""
    current = entry.values
    if entry.kind == "select":
        return [[option] for option in entry.options if [option] != current][:4]
    if entry.kind == "select-multiple":
        everything = [option for option in entry.options if option]
        return [everything, everything[:1], []]
    if entry.kind == "checkbox":
        return [[] if current else ["on"]]
    value = current[0] if current else ""
    if entry.kind == "number" or value.isdigit():
        number = int(value) if value.isdigit() else 0
        return [[str(number + 1)], [str(max(number - 1, 0))], ["1"], ["0"]]
    return [[f"{value}-changed"], [""]]
