"""The apps form a stack: each app's code imports only its own app and the apps below it.

The stack (docs/architecture.md), from the bottom:

    refurb_portal  the project: settings, locking, errors, pages
    audit          the trail everyone writes to
    accounts       manufacturers, users, log in, abuse limits
    orders         catalogue, purchase orders, original deliveries
    tokens         token files, tokens, downloads
    deliveries, workorders   new deliveries; work orders (side by side: neither imports the other)
    api, webhooks, notifications   the public API, webhooks and notices, on top (nothing
                   imports them)

The doors (``ENTRY_POINTS``: views, URLs, admin, template tags, management commands) bind input
and call any app's selectors and services, so they may import any app; nothing but another door
imports a door. Imports under ``if TYPE_CHECKING:`` are for type checkers only and do not count.
A new app must be placed in ``STACK`` before its code is accepted.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Bottom first; apps on one level may not import each other.
STACK: list[set[str]] = [
    {"refurb_portal"},
    {"audit"},
    {"accounts"},
    {"orders"},
    {"tokens"},
    {"deliveries", "workorders"},
    {"api", "webhooks", "notifications"},
]
LEVEL = {app: level for level, apps in enumerate(STACK) for app in apps}

# A module is a door if its name (or a folder on its path inside the app) is one of these.
ENTRY_POINTS = {"views", "urls", "admin", "templatetags", "management"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. "deliveries.services"
    target: str  # the imported module, e.g. "tokens.services"
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def project_apps() -> set[str]:
    """Every first-level package of the checkout that is a Django app or the project."""
    found = {path.parent.name for path in ROOT.glob("*/apps.py")}
    return found | {"refurb_portal"}


def is_entry_point(module: str) -> bool:
    parts = module.split(".")[1:]
    return any(part in ENTRY_POINTS or part.startswith("admin") for part in parts)


def against_stack(imp: Import) -> bool:
    """Domain code importing its own level or one above it."""
    own, other = imp.module.split(".")[0], imp.target.split(".")[0]
    return not is_entry_point(imp.module) and LEVEL.get(other, -1) >= LEVEL.get(own, -1)


def _imports(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """Every import in ``tree`` (at any depth) except those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (item for child in node.orelse for item in _imports_of(child))
            continue
        yield from _imports_of(node)


def _imports_of(node: ast.AST) -> Iterator[tuple[str, int]]:
    if isinstance(node, ast.Import):
        yield from ((alias.name, node.lineno) for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        yield node.module, node.lineno
    else:
        yield from _imports(node)


def cross_app_imports() -> Iterator[Import]:
    apps = project_apps()
    for app in sorted(apps):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
            for target, line in _imports(ast.parse(path.read_text(), filename=str(path))):
                if target.split(".")[0] in apps and target.split(".")[0] != app:
                    yield Import(module=module, target=target, line=line)


def test_every_app_has_a_place_in_the_stack() -> None:
    unknown = project_apps() - set(LEVEL)
    assert not unknown, (
        f"{sorted(unknown)} not in the stack of apps: add each to STACK in tests/test_layers.py "
        "(an app that calls the others' services and selectors, e.g. an API, goes on top, in "
        "a new last level) and to the stack in docs/architecture.md"
    )


def test_domain_code_imports_only_apps_below_it() -> None:
    upward = [str(imp) for imp in cross_app_imports() if against_stack(imp)]
    assert not upward, (
        "imports against the stack of apps (see docs/architecture.md):\n" + "\n".join(upward)
    )


def test_no_code_but_a_door_imports_another_apps_door() -> None:
    into_doors = [
        str(imp)
        for imp in cross_app_imports()
        if is_entry_point(imp.target) and not is_entry_point(imp.module)
    ]
    assert not into_doors, "\n".join(into_doors)


@pytest.mark.parametrize(
    ("module", "target", "allowed"),
    [
        ("deliveries.services", "tokens.services", True),
        ("tokens.services", "deliveries.models", False),
        ("audit.services", "accounts.models", False),
        ("deliveries.selectors", "workorders.selectors", False),
        ("orders.views", "deliveries.selectors", True),
    ],
)
def test_the_rule_itself(module: str, target: str, allowed: bool) -> None:
    """The check refuses what it should, so that a green run means something."""
    assert against_stack(Import(module=module, target=target, line=1)) is not allowed


def test_type_checking_imports_do_not_count_and_imports_in_functions_do() -> None:
    source = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from deliveries.models import NewDelivery
def f():
    from workorders.services import work_order_submit
"""
    assert [target for target, _ in _imports(ast.parse(source))] == [
        "typing",
        "workorders.services",
    ]
