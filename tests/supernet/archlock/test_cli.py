"""``--lock-target`` on the headless tabular search: each seed reports its locked pick."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supernet import cli
from supernet.space import SearchSpace
from supernet.tabular.synthetic import synthetic_table


def test_a_locked_tabular_search_reports_source_and_target(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    table = synthetic_table(SearchSpace.from_preset("nb201"), 2, datasets=("mine", "theirs"))
    path = table.write_csv(tmp_path / "two.csv")
    code = cli.main(["search", "--mode", "tabular", "--table", str(path), "--column", "mine",
                     "--lock-target", "theirs", "--lock-tolerance", "1.5", "--generations", "3",
                     "--population", "10", "--seeds", "2"])
    assert code == 0
    out = capsys.readouterr().out
    report = json.loads(out.strip().splitlines()[-1])
    theirs = table.with_dataset("theirs")
    for seed in report["per_seed"]:
        assert seed["targets"] == {"theirs": theirs.lookup(seed["best_arch"])}
    assert "target theirs" in out
    assert cli.main(["search", "--mode", "tabular", "--table", str(path), "--column", "mine",
                     "--lock-target", "nope", "--generations", "1"]) == 2
    assert "not columns of the table" in capsys.readouterr().err


def test_the_unknown_target_on_the_command_line(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    table = synthetic_table(SearchSpace.from_preset("nb201"), 2, datasets=("mine", "theirs"))
    path = table.write_csv(tmp_path / "two.csv")
    code = cli.main(["search", "--mode", "tabular", "--table", str(path), "--column", "mine",
                     "--lock-target", "unknown", "--generations", "2", "--population", "8"])
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    targets = report["per_seed"][0]["targets"]
    assert set(targets) == {"unknown"} and 0.0 <= targets["unknown"] <= 1.0
