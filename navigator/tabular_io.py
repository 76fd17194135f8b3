"""Tables written for analysis in pandas or R: one writer for every CSV / JSONL export, so the
study tables and the recording's session tables encode cells the same way."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

FORMATS = ("csv", "jsonl")


def write_rows(path: Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str],
               fmt: str) -> None:
    """Write ``rows`` as a table of ``columns`` (keys outside them are left out).

    JSONL keeps each cell's JSON type, with null for a missing one. CSV has no types: nested
    values become JSON text and missing ones empty cells, which pandas and R read as NA.
    """
    if fmt not in FORMATS:
        raise ValueError(f"table format must be one of {list(FORMATS)}, got {fmt!r}")
    with path.open("w", newline="") as fh:
        if fmt == "jsonl":
            fh.writelines(json.dumps({c: r.get(c) for c in columns}) + "\n" for r in rows)
            return
        writer = csv.DictWriter(fh, columns, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({c: json.dumps(v) if isinstance(v, (dict, list)) else
                             ("" if v is None else v) for c, v in r.items()})
