from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from benchmarks import steering
from supernet.space import SearchSpace


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every NAS-Bench-201 cell, scored by a made-up rule, in a column of a made-up name."""
    space = SearchSpace.from_preset("nb201")
    path = tmp_path_factory.mktemp("steering") / "table.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["ArchitectureString", "madeUpAccuracy"])
        for k, arch in enumerate(space.all_archs()):
            score = 0.5 + 0.06 * arch.count("nor_conv_3x3") - 0.08 * (arch[3] == "none") \
                + 0.001 * (k % 7)
            writer.writerow([space.to_string(arch), f"{100 * score:.3f}"])
    return path


def test_a_tiny_run_prints_the_documented_json(table: Path, capsys: pytest.CaptureFixture[str]
                                               ) -> None:
    result = steering.main(["--json", "--table", str(table), "--column", "madeUpAccuracy",
                            "--seeds", "2", "--budget", "100"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == result
    assert result["seeds"] == 2 and result["column"] == "madeUpAccuracy"
    assert set(result["strategies"]) == set(steering.STRATEGIES)
    for name, s in result["strategies"].items():
        assert set(s) >= {"median_evals_top1", "median_evals_top01", "reached_top01", "best_at"}
        assert set(s["best_at"]) == {"100"}
        assert 1 <= s["median_evals_top01"] <= 101 and 0 <= s["reached_top01"] <= 2
        assert 50 <= s["best_at"]["100"] <= 100  # percent, like the table
        assert (s["commands_acked"] > 0) == name.endswith("+advisor")
        assert s["commands_rejected"] == 0
    assert result["thresholds"]["top01"] >= result["thresholds"]["top1"]


def test_an_unknown_column_is_refused_by_name(table: Path) -> None:
    with pytest.raises(ValueError, match="no accuracy column for dataset 'nope'"):
        steering.main(["--table", str(table), "--column", "nope", "--seeds", "1"])


@pytest.mark.slow  # fits the learned encoder of NAS-Bench-201 (about 15 s)
def test_the_latent_arm_runs_on_request(table: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = steering.main(["--json", "--table", str(table), "--column", "madeUpAccuracy",
                            "--seeds", "1", "--budget", "40", "--strategies", "evolution,latent"])
    assert set(result["strategies"]) == {"evolution", "latent"}
    assert 1 <= result["strategies"]["latent"]["median_evals_top01"] <= 41
