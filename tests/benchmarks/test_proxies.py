"""``python -m benchmarks.proxies``: the ``--table`` path and its input checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.proxies import main
from supernet.model import Supernet
from supernet.proxies import sample_distinct
from supernet.space import SearchSpace
from supernet.steering import SteeringState


@pytest.fixture
def tiny_npz(tmp_path: Path) -> Path:
    """40 random 8x8 RGB images of 10 classes in the shared subset's format, for speed."""
    rng = np.random.default_rng(0)
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=rng.integers(0, 256, (40, 8, 8, 3), dtype=np.uint8),
             y_train=np.arange(40) % 10, x_test=rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8),
             y_test=np.arange(10))
    return path


def test_table_gives_each_proxy_its_rank_correlation_with_the_chosen_column(
        tmp_path: Path, tiny_npz: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = SearchSpace.from_preset("nb201")
    archs = sample_distinct(SteeringState(space), 8, np.random.default_rng(1))
    params = [Supernet(space, 3, 10, 8).params(a) for a in archs]
    top = max(params)
    # cifar10 rises with params, cifar100 falls: only the chosen column gives rho = -1
    rows = [f"{space.to_string(a)},{0.5 + p / (4 * top)!r},{0.9 - p / (4 * top)!r}"
            for a, p in zip(archs, params)]
    table = tmp_path / "nb201.csv"
    table.write_text("\n".join(["arch,cifar10,cifar100", *rows]) + "\n", encoding="utf-8")
    assert len(set(params)) > 2
    assert main(["--n", "20", "--batch-size", "4", "--proxies", "snip", "--data", str(tiny_npz),
                 "--table", str(table), "--table-dataset", "cifar100"]) == 0
    out = capsys.readouterr().out.splitlines()
    report = json.loads(out[-1])
    assert report["n"] == 8  # every row of the table, none outside it
    assert report["table"]["dataset"] == "cifar100" and report["table"]["rows"] == 8
    corr = report["table"]["correlations"]
    assert set(corr) == set(report["seconds_per_arch"]) == {"snip", "params", "flops"}
    assert corr["params"] == {"spearman": pytest.approx(-1.0), "kendall": pytest.approx(-1.0)}
    assert -1.0 <= corr["snip"]["spearman"] <= 1.0
    assert any(line.startswith("rank correlation with cifar100") for line in out)


@pytest.mark.parametrize(("args", "message"), [
    (["--table", "{tmp}/bad.csv"], "line 2: malformed architecture string"),
    (["--table", "{tmp}/bad.csv", "--table-dataset", "imagenet"], "no accuracy column"),
    (["--table", "{tmp}/missing.csv"], "cannot read benchmark table"),
    (["--proxies", "snip,synfow"], "unknown proxy"),
])
def test_bad_table_or_proxy_fails_before_scoring(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    (tmp_path / "bad.csv").write_text("arch,cifar10\n|nor_conv_3x3~0|,0.5\n", encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        main([a.format(tmp=tmp_path) for a in args] + ["--data", str(tmp_path / "none.npz")])
    assert info.value.code == 2
    assert message in capsys.readouterr().err
