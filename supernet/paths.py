"""Paths a user may name: datasets, benchmark tables. On a lab server they are confined to
the data folders an administrator configures (``roots``); ``roots=None`` (the embedded
default: one local user on their own machine) allows any path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

Roots = Sequence[str | Path] | None
"""The folders user-named paths must lie in; ``None``: unrestricted."""

Guard = Callable[[Path], Path]
"""Turns a path about to be read into the path to open, or refuses it (ValueError)."""


def check_under_roots(path: str | Path, roots: Sequence[str | Path]) -> Path:
    """``path`` resolved (symlinks followed), refused unless it lies under one of ``roots``.

    A lab server lets analysts name dataset files on its workers; without this, any file the
    worker can read is theirs. The refusal reads the same for an existing and a missing file,
    so it cannot be used to probe what exists outside the roots.
    """
    given = Path(path).expanduser()
    allowed = [Path(r).expanduser().resolve() for r in roots]
    try:
        resolved = given.resolve()
    except (OSError, RuntimeError):  # a symlink loop: refused like any other path
        resolved = None
    if (resolved is not None and ".." not in given.parts
            and any(resolved.is_relative_to(r) for r in allowed)):
        return resolved
    where = ", ".join(str(r) for r in allowed) or "none are configured"
    raise ValueError(f"{path} is outside the data folders this server allows ({where}); "
                     "place the file under one of them")


def path_guard(roots: Roots) -> Guard:
    """The check every file read of a user-named path goes through."""
    if roots is None:
        return lambda path: path
    return lambda path: check_under_roots(path, roots)
