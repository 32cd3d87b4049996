"""Every string a person sees is marked for translation, and the Chinese catalogue is complete.

Two checks that fail the build:

- each project template (pages and partials, and the plain-text and HTML emails) is lexed with
  Django's template lexer; what is left of its text and of its user-facing attributes once the
  template tags are taken out must hold no words;
- the zh-hans catalogue is regenerated with ``makemessages`` in a temporary copy of the sources
  and must hold exactly the committed messages, each translated and none fuzzy.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.apps import apps
from django.conf import settings
from django.template.base import DebugLexer, TokenType
from django.test import Client
from django.utils import translation

from orders.models import PurchaseOrder

BASE_DIR = Path(settings.BASE_DIR)
CATALOGUE = BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
# The same options as `make translations`, so that the check regenerates what a developer would.
MAKEMESSAGES = [
    "makemessages",
    "--locale=zh_Hans",
    "--add-location=file",
    "--ignore=.venv",
    "--ignore=node_modules",
    "--ignore=var",
    "-v0",
]
NOT_SOURCES = {".venv", "node_modules", "var", ".git", "__pycache__", ".mypy_cache", ".ruff_cache"}

# Stands for whatever a template tag or variable puts in: never a word of the template's own.
SLOT = "\ufffc"
# Text that is the same in every language. Keep it short: brand and data are variables.
UNTRANSLATABLE: frozenset[str] = frozenset()
# Attributes that a person reads or hears (`value` only on buttons: see `_value_is_visible`).
VISIBLE_ATTRIBUTES = {
    "placeholder",
    "aria-label",
    "aria-description",
    "aria-roledescription",
    "aria-valuetext",
    "title",
    "alt",
    "label",
    "data-label",
}
BUTTON_INPUT_TYPES = {"submit", "button", "reset"}


@dataclass(frozen=True)
class Unmarked:
    line: int
    where: str
    text: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.where}): {self.text!r}"


def has_words(text: str) -> bool:
    """True when the text holds a letter once slots, spaces, digits and punctuation are gone."""
    rest = "".join(ch for ch in text if ch != SLOT).strip()
    if not rest or " ".join(rest.split()) in UNTRANSLATABLE:
        return False
    return any(unicodedata.category(ch).startswith("L") for ch in rest)


def template_without_tags(source: str) -> str:
    """The template with each tag, variable and translated block replaced by a slot.

    Text inside ``{% blocktranslate %}`` is translated; text inside ``{% comment %}`` is not
    shown. Newlines are kept so that line numbers still point into the template."""
    pieces: list[str] = []
    skipping: str | None = None
    for token in DebugLexer(source).tokenize():
        start, end = token.position
        raw = source[start:end]
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if skipping is None and name in {"blocktranslate", "blocktrans", "comment"}:
                skipping = "end" + name
            elif name == skipping:
                skipping = None
        if token.token_type == TokenType.TEXT and skipping is None:
            pieces.append(raw)
        else:
            pieces.append(SLOT + "\n" * raw.count("\n"))
    return "".join(pieces)


class _VisibleTextFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Unmarked] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._hidden_depth += 1
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if (name in VISIBLE_ATTRIBUTES or self._value_is_visible(tag, name, values)) and (
                has_words(value)
            ):
                self.found.append(Unmarked(self.getpos()[0], f"<{tag} {name}>", value.strip()))

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth and has_words(data):
            # The line of the first letter: a chunk of text can span lines full of slots.
            first = next(i for i, ch in enumerate(data) if unicodedata.category(ch)[0] == "L")
            line = self.getpos()[0] + data[:first].count("\n")
            self.found.append(Unmarked(line, "text", " ".join(data.replace(SLOT, " ").split())))

    @staticmethod
    def _value_is_visible(tag: str, name: str, attrs: dict[str, str]) -> bool:
        """An input button shows its value; a <button> shows its content, and its value is
        only data sent with the form (``name="action" value="reply"``)."""
        return name == "value" and tag == "input" and attrs.get("type") in BUTTON_INPUT_TYPES


def unmarked_strings(source: str) -> list[Unmarked]:
    finder = _VisibleTextFinder()
    finder.feed(template_without_tags(source))
    finder.close()
    return finder.found


def project_templates() -> Iterator[Path]:
    """Every file in the project's template folders, whatever its kind: a page, a partial, an
    email's text or HTML body. A file that is not a template would fail the check loudly, which
    is better than a template of a new kind passing it unread."""
    folders = [BASE_DIR / "templates"]
    for config in apps.get_app_configs():
        path = Path(config.path)
        if path.is_relative_to(BASE_DIR) and not path.is_relative_to(BASE_DIR / ".venv"):
            folders.append(path / "templates")
    for folder in folders:
        yield from sorted(path for path in folder.rglob("*") if path.is_file())


# --- The checker itself: it must catch what it is for -----------------------------------------


@pytest.mark.parametrize(
    "snippet",
    [
        "<p>Take delivery</p>",
        '{% load i18n %}<input type="search" placeholder="Order number">',
        '<nav aria-label="Pages"></nav>',
        '<img src="x.png" alt="Logo">',
        '<input type="submit" value="Save">',
        "<button>{{ count }} left</button>",
        "{% if x %}<td>None{% endif %}</td>",
        '<td data-label="Status">{{ s }}</td>',
        "<title>{% block title %}{% endblock %} · Portal</title>",
        # A plain-text email: every line outside the tags is read.
        "{% load i18n %}{% autoescape off %}Your work order {{ number }} is ready.\n"
        "{% translate 'Open the work order:' %} {{ link }}\n{% endautoescape %}",
    ],
)
def test_the_checker_finds_unmarked_text(snippet: str) -> None:
    assert unmarked_strings(snippet), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        "{% load i18n %}<p>{% translate 'Take delivery' %}</p>",
        '<input placeholder="{% translate "Order number" %}" value="{{ form.q.value }}">',
        "{% blocktranslate count c=n %}{{ c }} order{% plural %}{{ c }} orders"
        "{% endblocktranslate %}",
        "{% comment %}Not shown to anyone{% endcomment %}<p>{{ x }} — {{ y }} (3)</p>",
        '<script src="{% static \'js/portal.js\' %}">var label = "not text";</script>',
        '<input type="hidden" name="next" value="/orders/">',
        '<button name="action" value="reply">{% translate "Reply" %}</button>',
        '<a href="?q=abc&amp;page=2" hx-target="#results" class="button button--ghost">{{ a }}</a>',
        "<!-- a note for developers --><td>&mdash;</td>",
    ],
)
def test_the_checker_passes_marked_text_and_markup(snippet: str) -> None:
    assert unmarked_strings(snippet) == []


def test_every_template_string_is_marked_for_translation() -> None:
    templates = list(project_templates())
    assert any(t.name == "purchase_order_list.html" for t in templates)
    assert any(t.suffix == ".txt" and "email" in t.parts for t in templates), "the emails"
    problems = [
        f"{path.relative_to(BASE_DIR)} {problem}"
        for path in templates
        for problem in unmarked_strings(path.read_text(encoding="utf-8"))
    ]
    assert not problems, "Mark these with {% translate %} or {% blocktranslate %}:\n" + "\n".join(
        problems
    )


# --- The Chinese catalogue ----------------------------------------------------------------------


def _keys(catalogue: polib.POFile) -> set[tuple[str | None, str, str]]:
    return {
        (entry.msgctxt, entry.msgid, entry.msgid_plural or "")
        for entry in catalogue
        if not entry.obsolete
    }


def _untranslated(catalogue: polib.POFile) -> list[str]:
    bad = []
    for entry in catalogue:
        if entry.obsolete:
            continue
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if "fuzzy" in entry.flags or not all(t.strip() for t in translations):
            bad.append(entry.msgid)
    return bad


@pytest.fixture(scope="module")
def regenerated_catalogue(tmp_path_factory: pytest.TempPathFactory) -> polib.POFile:
    """``makemessages`` run over a copy of the sources and the committed catalogue."""
    copy = tmp_path_factory.mktemp("sources") / "portal"

    def skip(folder: str, names: list[str]) -> set[str]:
        return {
            name
            for name in names
            if name in NOT_SOURCES
            or (
                Path(folder, name).is_file()
                and Path(name).suffix not in {".py", ".html", ".txt", ".po"}
            )
        }

    shutil.copytree(BASE_DIR, copy, ignore=skip)
    subprocess.run(
        [sys.executable, "manage.py", *MAKEMESSAGES],
        cwd=copy,
        check=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "refurb_portal.settings.dev"},
    )
    return polib.pofile(str(copy / CATALOGUE.relative_to(BASE_DIR)))


def test_the_committed_catalogue_is_translated_and_not_fuzzy() -> None:
    catalogue = polib.pofile(str(CATALOGUE))
    assert not catalogue.metadata_is_fuzzy, "remove the fuzzy flag from the catalogue's header"
    assert catalogue.metadata["Plural-Forms"] == "nplurals=1; plural=0;"
    assert len(catalogue) > 100
    assert _untranslated(catalogue) == []


def test_the_catalogue_holds_every_string_of_the_project(
    regenerated_catalogue: polib.POFile,
) -> None:
    committed = _keys(polib.pofile(str(CATALOGUE)))
    current = _keys(regenerated_catalogue)
    missing = sorted(msgid for _, msgid, _ in current - committed)
    stale = sorted(msgid for _, msgid, _ in committed - current)
    assert not missing, f"Not in the zh-hans catalogue (run `make translations`): {missing}"
    assert not stale, f"No longer used, still in the catalogue (run `make translations`): {stale}"
    assert _untranslated(regenerated_catalogue) == []


def test_the_compiled_catalogue_is_current() -> None:
    """The pages use the .mo that `make messages` compiles; it must match the .po."""
    compiled = CATALOGUE.with_suffix(".mo")
    assert compiled.exists(), "run `make messages` to compile the catalogue"
    in_mo = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in polib.mofile(str(compiled))}
    in_po = {
        (e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural)
        for e in polib.pofile(str(CATALOGUE))
        if not e.obsolete
    }
    assert in_mo == in_po, "the compiled catalogue is out of date: run `make messages`"
    with translation.override("zh-hans"):
        assert translation.gettext("Purchase Order") == "采购订单"


# --- Pages follow the language ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_purchase_order_page_follows_the_language(
    acme_client: Client, seed_order: PurchaseOrder
) -> None:
    PurchaseOrder.objects.filter(pk=seed_order.pk).update(
        created_at=dt.datetime(2026, 3, 9, 8, 0, tzinfo=dt.UTC), quantity_ordered=12000
    )
    english = acme_client.get("/purchase/orders/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Purchase Order</h1>" in english
    assert ">12,000<" in english
    # Unambiguous English dates (refurb_portal/formats/en): day, month as a word, year.
    assert ">9 Mar 2026<" in english

    acme_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = acme_client.get("/purchase/orders/").content.decode()
    assert '<html lang="zh-hans">' in chinese
    assert "<h1>采购订单</h1>" in chinese
    assert "采购订单 · 翻新门户</title>" in chinese
    assert "1 个订单" in chinese
    assert "设备授权订单" in chinese
    assert "发起新交付" in chinese
    # Django's zh_Hans formats: no thousands separator, dates as 年月日.
    assert ">12000<" in chinese
    assert ">2026年3月9日<" in chinese
