from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import archlock
from supernet.space import SearchSpace
from supernet.tabular.synthetic import synthetic_table


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    table = synthetic_table(SearchSpace.from_preset("nb201"), 8, datasets=("ours", "theirs"))
    return table.write_csv(tmp_path_factory.mktemp("archlock") / "two.csv")


@pytest.mark.parametrize("source,target", [("ours", "theirs"), ("theirs", "ours"),
                                           ("ours", "ours")])
def test_a_tiny_run_prints_the_documented_json(table: Path, source: str, target: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    result = archlock.main(["--json", "--table", str(table), "--source", source, "--target",
                            target, "--tolerance", "2", "--seeds", "2", "--evaluations", "100",
                            "--source-generations", "2"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == result
    assert set(result["baselines"]) == {"fitness_pick", "random", "source_only", "unknown_target"}
    assert len(result["by_seed"]) == 2 and result["evaluations"] == 100
    optimum = result["table_optimum_drop_pct"]
    for seed in result["by_seed"]:
        # within the tolerance never better than the table allows; the loss is measured
        assert seed["source_loss"] >= -1e-9
        if seed["source_loss"] <= 2.0:
            assert seed["target_drop_pct"] <= optimum + 1e-9
    if source == target:  # the drop is the source loss, relative
        best = max(s["source_acc"] + s["source_loss"] for s in result["by_seed"])
        for seed in result["by_seed"]:
            assert seed["target_drop_pct"] == pytest.approx(100 * seed["source_loss"] / best)


def test_an_unknown_column_is_refused(table: Path) -> None:
    with pytest.raises(SystemExit):
        archlock.main(["--table", str(table), "--source", "ours", "--target", "nope"])
