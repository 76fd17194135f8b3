"""Files written for analysis: one writer for every CSV / JSONL export, so the study tables
and the recording's session tables encode cells the same way, and one way to create such a
file private (recordings and their exports hold configs, command texts and user names)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

FORMATS = ("csv", "jsonl")


def check_format(fmt: str) -> None:
    """ValueError unless ``fmt`` is a table format: exports call it before writing anything."""
    if fmt not in FORMATS:
        raise ValueError(f"export format must be {' or '.join(map(repr, FORMATS))}, got {fmt!r}")


def private_file(path: Path) -> Path:
    """Create ``path`` readable by its owner only (0600), or tighten an existing file to that.

    Other local users must not read recordings (they once held the server secret) nor what
    is exported from them. SQLite gives the -wal and -shm files the database file's mode, so
    creating that one 0600 covers all three.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError as exc:
        raise ValueError(f"cannot create or open {path}: {exc.strerror}") from None
    if path.stat().st_mode & 0o077:
        # another user's file cannot be tightened by us; it still opens, as it did before
        with contextlib.suppress(PermissionError):
            os.chmod(path, 0o600)
    return path


def write_rows(path: Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str],
               fmt: str) -> None:
    """Write ``rows`` as a table of ``columns`` (keys outside them are left out) to a private
    file (:func:`private_file`).

    JSONL keeps each cell's JSON type, with null for a missing one. CSV has no types: nested
    values become JSON text and missing ones empty cells, which pandas and R read as NA.
    """
    check_format(fmt)
    with private_file(path).open("w", newline="") as fh:
        if fmt == "jsonl":
            fh.writelines(json.dumps({c: r.get(c) for c in columns}) + "\n" for r in rows)
            return
        writer = csv.DictWriter(fh, columns, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({c: json.dumps(v) if isinstance(v, (dict, list)) else
                             ("" if v is None else v) for c, v in r.items()})
