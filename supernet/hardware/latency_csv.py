"""Latencies an analyst uploads for another device, as an ``arch,latency_ms`` table."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from supernet.csv_cells import parse_number
from supernet.space import Arch, SearchSpace

CSV_COLUMNS = ("arch", "latency_ms")
"""Columns an uploaded latency table must have (others are ignored)."""


def _read_text(source: str | Path | bytes) -> str:
    """Bytes (an upload), a path, or the CSV text itself (anything with a newline)."""
    if isinstance(source, bytes):
        return source.decode("utf-8-sig")
    if isinstance(source, Path) or ("\n" not in source and Path(source).is_file()):
        return Path(source).read_text(encoding="utf-8-sig")
    if source.strip() and "\n" not in source and "," not in source:
        raise ValueError(f"latency CSV file {source!r} does not exist")
    return source.removeprefix("\ufeff")


def _header_columns(header: list[str], line: int) -> tuple[int, int]:
    names = [h.strip().lower() for h in header]
    if not all(c in names for c in CSV_COLUMNS):
        raise ValueError(f"line {line}: the header must name the columns "
                         f"{','.join(CSV_COLUMNS)}, got {','.join(header)!r}")
    return names.index(CSV_COLUMNS[0]), names.index(CSV_COLUMNS[1])


def load_latency_csv(source: str | Path | bytes, space: SearchSpace
                     ) -> tuple[list[Arch], np.ndarray]:
    """Parse measured latencies (``arch,latency_ms``) uploaded for another device.

    Arch strings use the space's canonical NAS-Bench-201 format. Blank lines are
    skipped; repeated architectures are kept (repeated measurements average out in
    the fit). Every problem raises ``ValueError`` naming the line, so a user can fix
    the file.
    """
    reader = csv.reader(io.StringIO(_read_text(source)))
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"the latency CSV is empty: expected a header {','.join(CSV_COLUMNS)}")
    arch_col, lat_col = _header_columns(rows[0][1], rows[0][0])
    archs: list[Arch] = []
    latencies: list[float] = []
    for line, row in rows[1:]:
        if len(row) <= max(arch_col, lat_col):
            raise ValueError(f"line {line}: expected {len(rows[0][1])} fields, got {len(row)}")
        try:
            archs.append(space.from_string(row[arch_col].strip()))
        except ValueError as exc:
            raise ValueError(f"line {line}: unknown architecture "
                             f"{row[arch_col].strip()!r}: {exc}") from None
        latencies.append(parse_number(row[lat_col], f"line {line}: latency_ms ", nonnegative=True))
    if not archs:
        raise ValueError("the latency CSV has a header but no data rows")
    return archs, np.asarray(latencies, dtype=np.float64)
