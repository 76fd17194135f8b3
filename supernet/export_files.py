"""An export's folder as files: its version folders and its zip. Torch-free, so the web process
can hand an export to a browser without loading torch."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


def export_zip(folder: str | Path) -> bytes:
    """The export in ``folder`` as one zip (model.py, weights.pt, arch.json, README.txt), for
    a download: unpacked anywhere, ``import model; model.load()`` works."""
    base = Path(folder)
    names = ("model.py", "weights.pt", "arch.json", "README.txt")
    missing = [n for n in names[:3] if not (base / n).is_file()]
    if missing:
        raise ValueError(f"{base} is not a complete export (missing {missing}); export again")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            if (base / name).is_file():
                archive.write(base / name, name)
    return buffer.getvalue()


def next_version(folder: str | Path) -> Path:
    """``folder/v<N>`` one past the highest existing version: exports are never overwritten."""
    base = Path(folder)
    taken = [int(p.name[1:]) for p in base.glob("v*") if p.name[1:].isdigit()] if base.is_dir() \
        else []
    return base / f"v{max(taken, default=0) + 1}"
