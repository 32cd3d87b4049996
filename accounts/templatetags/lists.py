"""``{{ items|list_join }}``: a list joined as the active language lists things (``a, b`` in
English, ``a、b`` in Chinese; ``refurb_portal.formats.list_join``)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from refurb_portal.formats import list_join as _list_join

register = template.Library()


@register.filter
def list_join(items: Iterable[object]) -> str:
    """``items`` as one string in the active language; escaped by the template as usual."""
    return _list_join(items)
