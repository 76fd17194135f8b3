"""A search step and an export on the new tasks (aeon series, Darcy fields), end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from supernet.configs import EngineConfig, EvalConfig, TrainConfig
from supernet.engine import SearchEngine
from supernet.export import (
    InputScaling,
    build_standalone,
    export_model,
    load_written,
    raw_images,
    write_standalone,
)
from supernet.search import SearchConfig
from supernet.tasks import rank_value


def _engine(dataset: str, preset: str = "tiny") -> SearchEngine:
    config = EngineConfig(
        template=preset, dataset=dataset, seed=0, measure_latency=False,
        train=TrainConfig(epochs=1, batch_size=16, device="cpu", seed=0),
        search=SearchConfig(population=4, seed=0),
        eval=EvalConfig(bn_batches=1, bn_batch_size=16, val_limit=16))
    return SearchEngine(config)


@pytest.fixture(scope="module")
def darcy() -> SearchEngine:
    engine = _engine("darcy:40")
    engine.train_steps(2)
    engine.search_generation()
    engine.search_generation()
    return engine


@pytest.mark.parametrize(("dataset", "preset"), [("aeon:JapaneseVowels", "tiny"),
                                                 ("aeon:BasicMotions", "chain-tiny")])
def test_a_search_step_on_series_scores_by_accuracy(dataset: str, preset: str) -> None:
    engine = _engine(dataset, preset)
    engine.train_steps(1)
    records = engine.search_generation()
    assert len(records) == 4 and all(0 <= r.accuracy <= 1 for r in records)
    assert engine.leaderboard(1)[0].accuracy == max(r.accuracy for r in records)


def test_a_field_search_minimises_the_relative_l2_error(darcy: SearchEngine) -> None:
    errors = [r.accuracy for r in darcy.archive]
    assert all(e > 0 for e in errors)
    board = darcy.leaderboard(len(darcy.archive))
    assert board[0].accuracy == min(errors)
    assert [r.accuracy for r in board] == sorted(r.accuracy for r in board)
    # evolution's parents come from the lowest errors, not the highest
    key = darcy.search.rank_key
    assert key is not None
    best = darcy.space.from_string(board[0].arch)
    worst = darcy.space.from_string(board[-1].arch)
    assert key(best) == rank_value(board[0].accuracy, False) > key(worst)


@pytest.mark.parametrize("dataset", ["darcy:40", "aeon:JapaneseVowels"])
def test_an_export_loaded_back_matches_the_supernet_path(dataset: str, tmp_path: Path,
                                                         darcy: SearchEngine) -> None:
    engine = darcy if dataset.startswith("darcy") else _engine(dataset)
    if engine is not darcy:
        engine.train_steps(2)
        engine.search_generation()
    data, space = engine.data, engine.space
    arch = space.from_string(engine.leaderboard(1)[0].arch)
    model = build_standalone(space, arch, data.in_channels, data.num_classes, data.image_size,
                             engine.supernet)
    scaling = InputScaling.of(data)
    paths = write_standalone(tmp_path, space, arch, data.in_channels, data.num_classes,
                             data.image_size, model=model.eval(), scaling=scaling,
                             task=data.task)
    loaded = load_written(paths["model"])
    engine.supernet.eval()
    x = data.x_val[:6]
    with torch.no_grad():
        expected = engine.supernet(x, arch)
        got = loaded(raw_images(x, scaling))
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-4)
    source = paths["model"].read_text()  # the task's network, rebuilt by the export
    assert f"'dims': {data.task.dims}" in source and f"'head': '{data.task.head}'" in source


def test_export_model_reports_the_task_metric(darcy: SearchEngine, tmp_path: Path) -> None:
    arch = darcy.space.from_string(darcy.leaderboard(1)[0].arch)
    paths, metrics = export_model(tmp_path, darcy.space, arch, darcy.data,
                                  supernet=darcy.supernet)
    assert metrics["metric"] == "relative_l2"
    doc = json.loads(paths["json"].read_text())
    assert doc["target_std"] == darcy.data.target_std and doc["task"]["metric"] == "relative_l2"
    assert metrics["test_relative_l2"] > 0 and "test_accuracy" not in metrics
