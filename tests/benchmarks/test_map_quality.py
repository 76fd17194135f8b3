from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.map_quality import knn_r2, main
from supernet.encoders.graph import canonical
from supernet.space import SearchSpace


def test_knn_r2_rewards_neighbourhoods_that_predict() -> None:
    rng = np.random.default_rng(0)
    points = rng.uniform(size=(400, 2))
    assert knn_r2(points, points[:, 0] + 0.01 * rng.normal(size=400)) > 0.95
    assert knn_r2(points, rng.normal(size=400)) < 0.1  # no structure, no skill


def test_benchmark_prints_one_json_line_for_any_column(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    space = SearchSpace.from_preset("nb201")
    rng = np.random.default_rng(1)
    archs = list(dict.fromkeys(space.random_arch(rng) for _ in range(400)))
    table = tmp_path / "t.csv"
    lines = ["ArchitectureString,made_up"]
    for arch in archs:  # an accuracy that depends on the network, not on its dead edges
        convs = sum(op.startswith("nor_conv") for op in canonical(space, arch))
        lines.append(f"{space.to_string(arch)},{50 + 7 * convs + rng.normal():.3f}")
    table.write_text("\n".join(lines) + "\n")
    main(["--json", "--table", str(table), "--column", "made_up", "--n", "300", "--seeds", "0",
          "--encodings", "onehot", "path", "--default", "onehot", "--no-baseline",
          "--method", "pca", "--cache", str(tmp_path / "cache")])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 300 and result["column"] == "made_up" and result["drift"] == 0.0
    assert set(result["knn_r2_by_encoding"]) == {"onehot", "path"}
    assert result["knn_r2"] == result["knn_r2_by_encoding"]["onehot"]
    assert -1.0 < result["knn_r2"] <= 1.0 and result["onehot_highd"] > 0.5
