"""Where the UI's browser assets live, in a checkout and in an installed wheel alike."""

from __future__ import annotations

from pathlib import Path


def assets_dir() -> Path:
    """The folder Dash serves as ``/assets``: ``frontend/assets`` (package data in a wheel;
    in the repository a link to the top-level ``assets/`` folder, where the files are kept)."""
    return (Path(__file__).resolve().parent / "assets").resolve()
