"""The shared table writer: what a CSV and a JSONL cell hold for each kind of value."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest

from navigator.tabular_io import private_file, write_rows

ROWS = [{"a": 1, "b": {"k": [1, 2]}, "c": None, "extra": "left out"}, {"a": 2.5, "b": "x"}]


def test_jsonl_keeps_types_in_column_order_with_null_for_missing(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_rows(path, ROWS, ("c", "a", "b"), "jsonl")
    lines = path.read_text().splitlines()
    assert lines[0] == '{"c": null, "a": 1, "b": {"k": [1, 2]}}'
    assert json.loads(lines[1]) == {"c": None, "a": 2.5, "b": "x"}


def test_csv_writes_nested_values_as_json_and_missing_ones_as_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    write_rows(path, ROWS, ("a", "b", "c"), "csv")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [{"a": "1", "b": '{"k": [1, 2]}', "c": ""}, {"a": "2.5", "b": "x", "c": ""}]


def test_an_unknown_format_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be 'csv' or 'jsonl', got 'xlsx'"):
        write_rows(tmp_path / "t.xlsx", ROWS, ("a",), "xlsx")
    assert not (tmp_path / "t.xlsx").exists()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_tables_are_written_readable_by_the_owner_only(tmp_path: Path, fmt: str) -> None:
    fresh, loose = tmp_path / f"new.{fmt}", tmp_path / f"loose.{fmt}"
    loose.write_text("stale")
    loose.chmod(0o644)
    for path in (fresh, loose):
        write_rows(path, ROWS, ("a",), fmt)
        assert _mode(path) == 0o600
    assert "stale" not in loose.read_text()


def test_private_file_names_a_path_it_cannot_create(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot create or open .*missing"):
        private_file(tmp_path / "missing" / "t.csv")
