"""``python -m benchmarks.fidelity``: the JSON of issue 19 from a tiny run of the same path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.fidelity import main
from supernet.space import SearchSpace


@pytest.fixture
def tiny_npz(tmp_path: Path) -> Path:
    """60 random 8x8 RGB images of 10 classes in the shared subset's format, for speed."""
    rng = np.random.default_rng(0)
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=rng.integers(0, 256, (60, 8, 8, 3), dtype=np.uint8),
             y_train=np.arange(60) % 10, x_test=rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8),
             y_test=np.arange(10))
    return path


def test_fidelity_reports_every_estimator_and_lever(tmp_path: Path, tiny_npz: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    space = SearchSpace.from_preset("nb201")
    rng = np.random.default_rng(1)
    archs = {space.to_string(space.random_arch(rng)) for _ in range(40)}
    table = tmp_path / "t.csv"  # the shared table's header and units (percent)
    table.write_text("ArchitectureString,CIFAR10TestAccuracy200Epochs,extra\n" + "".join(
        f"{a},{rng.uniform(10, 94):.3f},x\n" for a in sorted(archs)), encoding="utf-8")
    assert main(["--json", "--quick", "--n", "10", "--epochs", "1", "--table", str(table),
                 "--column", "CIFAR10TestAccuracy200Epochs", "--data", str(tiny_npz)]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["n"] == 10 and report["column"] == "CIFAR10TestAccuracy200Epochs"
    assert isinstance(report["train_seconds"], float) and report["train_seconds"] >= 0
    for table_of in ("kendall", "spearman"):
        for name in ("supernet", "default", "flops", "params", "synflow", "naswot", "jacob_cov"):
            value = report[table_of][name]
            assert value is None or -1.0 <= value <= 1.0
    assert set(report["top10_true_percentile"]) >= {"supernet", "default"}
    assert set(report["levers"]) == {"ensemble", "loss_instead_of_accuracy", "bn_batches_16_vs_4",
                                     "fewshot", "distill", "warmup"}
    assert all(set(v) == {"on", "off"} for v in report["levers"].values())
    assert report["levers"]["ensemble"]["on"] == report["kendall"]["default"]
