"""The layout rules of DEVELOPERS.md, checked on the source so that a breach fails CI.

Dependencies point one way (frontend -> navigator -> supernet; only the composition root
wires the UI to the runtime), supernet/ never prints, and no product file grows past 600
lines (split along a seam instead)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("supernet", "navigator", "frontend", "benchmarks")
COMPOSITION_ROOT = {"navigator/wsgi.py", "navigator/cli.py"}
# The headless command line (`python -m supernet.cli`, behind `navigator search --headless`)
# is the one part of supernet/ whose job is to write to the terminal.
SUPERNET_CONSOLE = {"supernet/cli.py"}


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_no_product_file_is_over_600_lines(package: str) -> None:
    long = {str(p.relative_to(ROOT)): n for p in _sources(package)
            if (n := len(p.read_text().splitlines())) > 600}
    assert not long, f"split these along a seam: {long}"


def test_supernet_imports_neither_the_runtime_nor_the_ui_and_never_prints() -> None:
    for path in _sources("supernet"):
        tree = ast.parse(path.read_text(), str(path))
        assert not _imported(path) & {"navigator", "frontend"}, path
        if str(path.relative_to(ROOT)) in SUPERNET_CONSOLE:
            continue
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Name) and n.func.id == "print"]
        assert not calls, f"{path.relative_to(ROOT)} prints (line {calls[0].lineno if calls else 0})"


def test_only_the_composition_root_joins_runtime_and_ui() -> None:
    """The runtime knows nothing of Dash: it never imports frontend/ outside the root."""
    for path in _sources("navigator"):
        if str(path.relative_to(ROOT)) not in COMPOSITION_ROOT:
            assert "frontend" not in _imported(path), path.relative_to(ROOT)
