"""The start form's dataset check: a spec naming a missing file is refused before a session
is queued, so the analyst reads the reason next to the form instead of a failed session.

Torch-free (the web process runs it). Within configured data roots the refusal for a path
outside them reads the same whether it exists or not (:func:`supernet.paths.check_under_roots`),
so the check cannot probe what exists elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from supernet.paths import Roots, check_under_roots

PATH_KINDS = {"cifar10": "folder", "folder": "folder", "npz": "file"}
SPECS = ("use 'digits', 'cifar10:<dir>', 'npz:<file>', 'folder:<dir>', 'aeon:<Name>' or "
         "'darcy[:<N>]'")


def dataset_problem(spec: str, roots: Roots = None) -> str | None:
    """Why a session on ``spec`` could not load its data, or None when it may try."""
    kind, _, arg = spec.partition(":")
    if kind == "digits":
        return None
    # generated (darcy) or shipped with a package (aeon): no file to check; the worker's loader
    # refuses a bad size or an aeon set it does not ship, listing the ones it does
    if kind == "darcy":
        return None if not arg or arg.isdigit() else (
            f"dataset {spec!r}: darcy:<N> takes a number of samples (e.g. darcy:1000)")
    if kind == "aeon":
        return None if arg.strip() else f"dataset {spec!r} names no aeon set: {SPECS}"
    if kind not in PATH_KINDS:
        return f"unknown dataset kind {kind!r}: {SPECS}"
    if not arg.strip():
        return f"dataset {spec!r} names no path: {SPECS}"
    path = Path(arg.strip()).expanduser()
    if roots is not None:
        try:
            path = check_under_roots(path, roots)
        except ValueError as exc:
            return str(exc)
    wanted = PATH_KINDS[kind]
    found = path.is_dir() if wanted == "folder" else path.is_file()
    if not found:
        return f"dataset {spec!r}: no {wanted} {str(path)!r} (check the path; {SPECS})"
    return None
