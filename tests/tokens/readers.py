"""The production line's readers of a License List, as their public code reads it (written
anew here from what it does; docs/token-files.md names the sources).

- tyuTool "Batch Auth" v2 (Python): openpyxl ``load_workbook``, the *active* sheet, row 1 the
  header, columns found by name stripped and lower-cased: ``uuid``, and ``authkey`` or ``key``;
  rows with an empty UUID skipped.
- tyuTool v3 (Rust, calamine): the *first* sheet, same header rule, and rows whose UUID is not
  16 or 20 characters or whose AuthKey is not 32 are skipped as invalid.
- ESP-IDF ``mfg_gen``: ``open(path, "r", newline="")`` with the system's default encoding,
  ``csv.reader``, the first row the keys; every key of the user's config must be found among
  them in the config's order (here ``uuid`` then ``authkey``), and each row has as many values
  as there are keys.
"""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

RESERVED_BY_TYUTOOL = {"status", "mac", "timestamp", "step", "error", "last_error"}
KEY_NAMES = {"authkey", "key"}


def _columns(header: list[object]) -> tuple[int, int]:
    names = [str(cell).strip().lower() if cell is not None else "" for cell in header]
    uuid_column = names.index("uuid")
    key_column = next(i for i, name in enumerate(names) if name in KEY_NAMES)
    return uuid_column, key_column


def tyutool_v2_tokens(path: Path) -> list[tuple[str, str]]:
    """(UUID, AuthKey) pairs as tyuTool v2 takes them, in row order."""
    workbook = load_workbook(path)
    sheet = workbook.active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    uuid_column, key_column = _columns(list(rows[0]))
    found = []
    for row in rows[1:]:
        uuid, key = row[uuid_column], row[key_column]
        if uuid and key:
            found.append((str(uuid).strip(), str(key).strip()))
    workbook.close()
    return found


def tyutool_v3_tokens(path: Path) -> list[tuple[str, str]]:
    """(UUID, AuthKey) pairs tyuTool v3 would hand out: first sheet, valid lengths only."""
    workbook = CalamineWorkbook.from_path(str(path))
    rows = workbook.get_sheet_by_index(0).to_python()
    uuid_column, key_column = _columns(list(rows[0]))
    found = []
    for row in rows[1:]:
        uuid, key = str(row[uuid_column]).strip(), str(row[key_column]).strip()
        if uuid and len(uuid) in {16, 20} and len(key) == 32:
            found.append((uuid, key))
    return found


def mfg_gen_tokens(
    path: Path, config_keys: tuple[str, ...] = ("uuid", "authkey")
) -> list[tuple[str, str]]:
    """(UUID, AuthKey) pairs as ``mfg_gen`` pairs a values file with a config of
    ``config_keys``; fails as it does when a key is missing or out of order."""
    with path.open("r", newline="") as values_file:  # default encoding, BOM not stripped
        reader = csv.reader(values_file, delimiter=",")
        keys = next(reader)
        in_config = [key for key in keys if key in config_keys]
        assert in_config == list(config_keys), f"mfg_gen: keys {keys} against {config_keys}"
        uuid_column, key_column = keys.index("uuid"), keys.index("authkey")
        found = []
        for values in reader:
            assert len(values) == len(keys), "mfg_gen: values not equal to keys"
            found.append((values[uuid_column], values[key_column]))
    return found
