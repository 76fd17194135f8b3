"""The real worker answers the NAS-Bench-360 question once its search budget is used up: a
``baseline`` event with both stand-alone test metrics, in the task's direction."""

from __future__ import annotations

from pathlib import Path

from navigator.bus import MemoryBus
from navigator.events import Baseline
from supernet.baseline import baseline_arch
from supernet.space import SearchSpace
from tests.navigator.test_worker import TINY, Running, state_is


def _baseline_of(config: dict, tmp_path: Path) -> tuple[Running, dict]:
    run = Running(MemoryBus(), tmp_path, config, extra_generations=1)
    try:
        # the budget's pause comes first: both networks train on a thread of their own, so the
        # session keeps answering commands meanwhile
        run.wait(state_is("paused"), timeout=60)
        event = run.wait(lambda e: e.type == "baseline", timeout=90)
    finally:
        run.stop()
    return run, event.data


def test_a_classification_session_publishes_its_baseline_once(tmp_path: Path) -> None:
    config = TINY | {"train": TINY["train"] | {"epochs": 1}}
    run, data = _baseline_of(config, tmp_path)
    payload = Baseline.from_dict(data)
    assert isinstance(payload, Baseline)
    space = SearchSpace.from_preset("tiny")
    assert data["arch"] == space.to_string(baseline_arch(space))
    assert data["metric"] == "accuracy" and data["higher_is_better"] is True
    assert data["budget"] == 1
    assert 0.0 <= data["value"] <= 1.0 and 0.0 <= data["best_value"] <= 1.0
    assert data["beats"] == (data["best_value"] > data["value"])
    board = [e for e in run.seen if e.type == "leaderboard"][-1].data["records"]
    assert data["best_arch"] == board[0]["arch"]
    assert sum(e.type == "baseline" for e in run.seen) == 1


def test_a_field_session_compares_errors_lower_first(tmp_path: Path) -> None:
    config = TINY | {"dataset": "darcy:48", "data_limit": None,
                     "train": TINY["train"] | {"epochs": 1, "batch_size": 16},
                     "eval": TINY["eval"] | {"val_limit": 16}}
    _, data = _baseline_of(config, tmp_path)
    assert data["metric"] == "relative_l2" and data["higher_is_better"] is False
    assert data["label"] == "relative L2 error"
    assert data["value"] > 0 and data["best_value"] > 0
    assert data["beats"] == (data["best_value"] < data["value"])


def test_a_tabular_session_has_no_baseline(tmp_path: Path) -> None:
    config = {"template": "nb201", "mode": "tabular", "table_path": "synthetic:3",
              "search": {"population": 4, "parents": 2}, "measure_latency": False}
    run = Running(MemoryBus(), tmp_path, config, extra_generations=1)
    try:
        run.wait(state_is("paused"), timeout=30)
    finally:
        run.stop()
    assert not any(e.type == "baseline" for e in run.seen)
