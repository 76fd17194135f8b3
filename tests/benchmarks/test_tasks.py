"""``python -m benchmarks.tasks``: one quick seeded run prints the comparison as JSON."""

from __future__ import annotations

import json

import pytest

from benchmarks.tasks import main


def test_quick_run_compares_best_found_with_the_baseline(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--quick", "--tasks", "aeon:GunPoint", "--population", "3"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    summary = out["tasks"]["aeon:GunPoint"]
    assert summary["metric"] == "accuracy" and summary["higher_is_better"] is True
    run = summary["runs"][0]
    assert run["baseline_arch"] != run["best_arch"] or run["best"] == run["baseline"]
    assert 0 <= summary["best_median"] <= 1 and 0 <= summary["baseline_median"] <= 1
    assert summary["wins"] == int(run["best"] > run["baseline"])
    # --quick: 10 steps; 40 training series at batch 128 make one step an epoch
    assert out["settings"]["train_steps"] == 10 and run["epochs"] == 10
